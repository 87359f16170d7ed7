"""A sold-out showtime's waiting list through the API: join, my place, the offer on the booking,
leave; refused as on the pages, with the same codes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from api.tests.problems import assert_problem
from bookings import services
from bookings.models import Booking
from cinema.models import Auditorium
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import verified_user

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1"


@pytest.fixture
def sold_out(movie):
    """A four-seat showtime whose seats one buyer holds: the showtime and that hold."""
    hall = save_auditorium(auditorium=Auditorium(name="Tiny", layout="A  ssss\n"))
    showtime = schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    carol = verified_user("carol")
    return showtime, services.hold_seats(user=carol, showtime=showtime, labels=["A1", "A2", "A3"])


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _join(client, showtime, **body):
    return client.post(
        f"{API}/showtimes/{showtime.pk}/waitlist", body, content_type="application/json"
    )


def test_join_see_my_place_and_leave(sold_out, user, bob):
    showtime, _ = sold_out
    ann, bruno = _signed_in(user), _signed_in(bob)
    assert_problem(ann.get(f"{API}/showtimes/{showtime.pk}/waitlist"), 409, "not_waiting")
    joined = _join(ann, showtime, seats=2, categories=["standard"])
    assert joined.status_code == 201, joined.content
    place = joined.json()
    assert {key: place[key] for key in ("seats", "categories", "status", "place", "offer")} == {
        "seats": 2,
        "categories": ["standard"],
        "status": "waiting",
        "place": 1,
        "offer": None,
    }
    assert _join(bruno, showtime, seats=2).json()["place"] == 2
    assert_problem(_join(ann, showtime, seats=3), 409, "already_waiting")

    left = ann.delete(f"{API}/showtimes/{showtime.pk}/waitlist")
    assert (left.status_code, left.json()["status"], left.json()["place"]) == (200, "left", None)
    assert bruno.get(f"{API}/showtimes/{showtime.pk}/waitlist").json()["place"] == 1
    assert_problem(ann.delete(f"{API}/showtimes/{showtime.pk}/waitlist"), 409, "not_waiting")


def test_seats_free_now_are_picked_not_waited_for(sold_out, user):
    showtime, _ = sold_out
    # One seat is free: a place for one is refused, one for two is taken.
    refused = assert_problem(_join(_signed_in(user), showtime, seats=1), 409, "seats_available")
    assert "pick them on the seat map" in refused["detail"]
    assert _join(_signed_in(user), showtime, seats=2).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"seats": 0}, 400, "invalid_request"),
        ({"seats": 11}, 400, "invalid_request"),
        ({"seats": "2"}, 400, "invalid_request"),
        ({"seats": 2, "categories": ["vip"]}, 400, "invalid_request"),
        ({"seats": 2, "categories": ["VIP!"]}, 400, "invalid_request"),
        ({"seats": 2, "extra": 1}, 400, "invalid_request"),
    ],
)
def test_bad_wishes_are_a_400(sold_out, user, body, status, code):
    showtime, _ = sold_out
    assert_problem(_join(_signed_in(user), showtime, **body), status, code)
    assert not user.waitlist_entries.exists()


def test_refusals_of_the_account_and_the_showtime(sold_out, client, user):
    showtime, _ = sold_out
    assert_problem(_join(client, showtime, seats=2), 401, "not_signed_in")
    assert_problem(_join(_signed_in(user), showtime.__class__(pk=10**6), seats=2), 404, "not_found")
    from django.contrib.auth import get_user_model

    stranger = get_user_model().objects.create_user("eve", "eve@example.com", "pw-pw-pw-pw")
    assert_problem(_join(_signed_in(stranger), showtime, seats=2), 403, "verification_required")


def test_the_offer_shows_on_my_place_and_on_its_booking(sold_out, user, bob):
    showtime, held = sold_out
    ann = _signed_in(user)
    _join(ann, showtime, seats=3)
    services.cancel_booking(booking=held)

    place = ann.get(f"{API}/showtimes/{showtime.pk}/waitlist").json()
    assert (place["status"], place["place"]) == ("offered", None)
    offer = place["offer"]
    assert offer["seats"] == ["A1", "A2", "A3"]
    booking = ann.get(f"{API}/bookings/{offer['booking']}").json()
    assert (booking["status"], booking["offered"], booking["seats"]) == (
        "pending",
        True,
        ["A1", "A2", "A3"],
    )
    assert booking["expires_at"] == place["offer"]["until"]
    # Another customer's offer is theirs alone.
    assert_problem(_signed_in(bob).get(f"{API}/bookings/{offer['booking']}"), 404, "not_found")
    assert_problem(
        _signed_in(bob).get(f"{API}/showtimes/{showtime.pk}/waitlist"), 409, "not_waiting"
    )

    # Leaving with an offer releases its seats.
    assert ann.delete(f"{API}/showtimes/{showtime.pk}/waitlist").json()["status"] == "left"
    assert Booking.objects.get(ref=offer["booking"]).status == Booking.Status.CANCELLED


def test_an_ordinary_booking_is_not_an_offer(sold_out, user):
    _, held = sold_out
    carol = _signed_in(held.user)
    assert carol.get(f"{API}/bookings/{held.ref}").json()["offered"] is False


def test_the_schema_names_the_waiting_lists_refusals(client):
    schema = client.get(f"{API}/openapi.json").json()
    operations = schema["paths"]["/api/v1/showtimes/{showtime_id}/waitlist"]
    assert set(operations) == {"post", "get", "delete"}
    assert "409" in operations["post"]["responses"]
    assert "application/problem+json" in operations["get"]["responses"]["409"]["content"]
