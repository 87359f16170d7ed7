"""Best available past the standard seats: when no standard block fits it offers the cheapest
other category that does, with its price, and never wheelchair spaces or companion seats."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from bookings.errors import SeatsUnavailable
from bookings.models import Booking
from cinema.models import Auditorium, SeatSupplement
from cinema.plans import get_plan
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import verified_user
from seats.seatmap import read_seat_states

pytestmark = pytest.mark.django_db

GRAND = """\
A  ssss
B  vvvv
C  pppp
D  acca
"""


@pytest.fixture
def grand(movie):
    prices = one_price_list(Decimal("10.00"))
    SeatSupplement.objects.create(price_list=prices, category="premium", amount=Decimal("2.50"))
    SeatSupplement.objects.create(price_list=prices, category="vip", amount=Decimal("6.00"))
    return schedule_showtime(
        movie=movie,
        auditorium=save_auditorium(auditorium=Auditorium(name="Grand", layout=GRAND)),
        starts_at=timezone.now() + timedelta(days=1),
        price_list=prices,
    )


def _suggest(showtime, count=2):
    states = read_seat_states(showtime=showtime, plan=get_plan(showtime.auditorium))
    return services.suggest_best_seats(showtime=showtime, count=count, states=states)


def test_standard_seats_come_first_at_the_standard_price(grand):
    best = _suggest(grand)
    assert (best.labels, best.category, best.price) == (["A1", "A2"], "standard", Decimal("10"))
    assert not best.instead_of_standard


def test_with_the_standard_seats_gone_the_cheapest_category_that_fits_is_offered(grand, bob):
    services.hold_seats(user=bob, showtime=grand, labels=["A1", "A2", "A3", "A4"])

    best = _suggest(grand)

    assert (best.labels, best.category_name, best.price) == (
        ["C1", "C2"],
        "Premium",
        Decimal("12.50"),
    )
    assert best.instead_of_standard


def test_then_the_next_category_and_never_wheelchair_or_companion_seats(grand, bob):
    services.hold_seats(user=bob, showtime=grand, labels=["A1", "A2", "A3", "A4", "C1", "C2", "C3"])

    assert _suggest(grand).labels == ["B1", "B2"]
    services.hold_seats(
        user=bob,
        showtime=grand,
        labels=["A1", "A2", "A3", "A4", "C1", "C2", "C3", "B1", "B2", "B3"],
    )
    with pytest.raises(SeatsUnavailable, match="no 2 seats together"):
        _suggest(grand)  # D2-D3 are companion seats: never offered


def test_holding_the_best_holds_the_category_offered(grand, user, bob):
    services.hold_seats(user=bob, showtime=grand, labels=["A1", "A2", "A3", "A4"])

    booking = services.hold_seats(user=user, showtime=grand, best=2)

    assert booking.seat_labels == ["C1", "C2"]
    assert booking.amount == Decimal("25.00")


def test_the_seat_page_says_no_standard_seats_are_left_and_what_the_others_cost(
    client, grand, user, bob
):
    services.hold_seats(user=bob, showtime=grand, labels=["A1", "A2", "A3", "A4"])
    client.force_login(user)

    page = client.get(grand.get_absolute_url(), {"best": "2"})

    assert page.status_code == 200
    text = " ".join(page.text.split())
    offer = "No 2 standard seats together are left. 2 Premium seats together, £12.50 each:"
    assert f"{offer} <strong>C1, C2</strong>, ticked on the map" in text
    assert not Booking.objects.filter(user=user).exists()


def test_the_api_holds_the_same_seats_at_the_price_the_page_shows(client, grand, user, bob):
    services.hold_seats(user=bob, showtime=grand, labels=["A1", "A2", "A3", "A4"])
    client.force_login(user)

    held = client.post(
        f"/api/v1/showtimes/{grand.pk}/holds", {"best": 2}, content_type="application/json"
    )

    assert held.status_code == 201
    assert (held.json()["seats"], held.json()["amount"]) == (["C1", "C2"], "25.00")


def test_a_buyer_whose_picked_seats_were_taken_is_offered_the_nearest_of_their_kind(grand, user):
    assert services.hold_seats(user=user, showtime=grand, labels=["C2"])
    buyer = verified_user("later")

    with pytest.raises(SeatsUnavailable) as refused:
        services.hold_seats(user=buyer, showtime=grand, labels=["C2", "C3"])

    offer = refused.value.offer
    assert refused.value.conflicts == ["C2"]
    assert (offer.labels, offer.category, offer.price) == (
        ["C3", "C4"],
        "premium",
        Decimal("12.50"),
    )
    assert not Booking.objects.filter(user=buyer).exists()


def test_no_offer_for_seats_of_mixed_kinds_or_when_nothing_like_them_is_free(grand, user):
    assert services.hold_seats(user=user, showtime=grand, labels=["A2", "B1", "B2", "B3"])
    buyer = verified_user("later")

    for picked in (["A2", "B4"], ["B2", "B3", "B4"]):
        with pytest.raises(SeatsUnavailable) as refused:
            services.hold_seats(user=buyer, showtime=grand, labels=picked)
        assert refused.value.offer is None
