"""The exchange's pages: from the booking page to the showtimes, the seat map picking new seats,
the summary with the difference, and the confirmation; bad input answers 4xx with its reason."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, Ticket
from cinema.models import Movie, Showtime
from cinema.services import one_price_list, schedule_showtime
from conftest import pay, verified_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buyer(db):
    return verified_user("ann")


@pytest.fixture
def paid(buyer, showtime):
    return pay(services.hold_seats(user=buyer, showtime=showtime, labels=["A3", "A4"]))


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


def later(showtime: Showtime, price: str, movie: Movie | None = None) -> Showtime:
    return schedule_showtime(
        movie=movie or showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(days=1),
        price_list=one_price_list(Decimal(price)),
    )


def test_a_customer_changes_seats_from_the_booking_page(signed_in, paid, showtime):
    page = signed_in.get(paid.get_absolute_url())
    exchange_url = reverse("bookings:exchange", args=[paid.ref])
    assert exchange_url in page.content.decode()

    choices = signed_in.get(exchange_url)
    assert choices.status_code == 200
    seat_map_url = f"{showtime.get_absolute_url()}?exchange={paid.ref}"
    assert seat_map_url in choices.content.decode()
    seat_map = signed_in.get(seat_map_url).content.decode()
    assert f'name="exchange" value="{paid.ref}"' in seat_map
    assert "Hold new seats" in seat_map

    held = signed_in.post(
        reverse("bookings:hold", args=[showtime.pk]),
        {"seats": ["B3", "B4"], "exchange": paid.ref},
    )
    assert held.status_code == 303
    new = Booking.objects.get(exchange_of=paid)
    assert held["Location"] == new.get_absolute_url()
    summary = signed_in.get(new.get_absolute_url()).content.decode()
    assert "Changing booking" in summary and "Confirm the change" in summary

    done = signed_in.post(reverse("bookings:confirm_exchange", args=[new.ref]))
    assert done.status_code == 303
    assert sorted(Ticket.objects.values_list("seat__label", flat=True)) == ["B3", "B4"]
    old_page = signed_in.get(paid.get_absolute_url()).content.decode()
    assert new.get_absolute_url() in old_page, "the old booking points to the new one"


def test_a_dearer_exchange_asks_for_the_difference(signed_in, paid, showtime):
    dearer = later(showtime, "11.00")
    signed_in.post(
        reverse("bookings:hold", args=[dearer.pk]), {"seats": ["B3", "B4"], "exchange": paid.ref}
    )
    new = Booking.objects.get(exchange_of=paid)
    summary = signed_in.get(new.get_absolute_url()).content.decode()
    assert "Pay £2.00" in summary
    assert reverse("bookings:pay", args=[new.ref]) in summary


def test_another_users_booking_cannot_be_exchanged(paid, showtime):
    eve = Client()
    eve.force_login(verified_user("eve"))
    assert eve.get(reverse("bookings:exchange", args=[paid.ref])).status_code == 404
    assert eve.get(f"{showtime.get_absolute_url()}?exchange={paid.ref}").status_code == 404
    held = eve.post(
        reverse("bookings:hold", args=[showtime.pk]), {"seats": ["B3", "B4"], "exchange": paid.ref}
    )
    assert held.status_code == 404
    assert not Booking.objects.filter(exchange_of=paid).exists()


def test_confirming_needs_the_forms_csrf_token(buyer, paid, showtime):
    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)
    assert strict.post(reverse("bookings:confirm_exchange", args=[new.ref])).status_code == 403
    new.refresh_from_db()
    assert new.status == "pending"


def test_another_film_is_a_400(signed_in, paid, showtime):
    other = later(
        showtime, "10.00", movie=Movie.objects.create(title="B", slug="b", runtime_minutes=80)
    )
    answer = signed_in.post(
        reverse("bookings:hold", args=[other.pk]), {"seats": ["B3", "B4"], "exchange": paid.ref}
    )
    assert answer.status_code == 400
    assert "same film" in answer.content.decode()


def test_seats_taken_are_a_409_naming_them(signed_in, paid, showtime):
    services.hold_seats(user=verified_user("bob"), showtime=showtime, labels=["B4"])
    answer = signed_in.post(
        reverse("bookings:hold", args=[showtime.pk]), {"seats": ["B4", "B5"], "exchange": paid.ref}
    )
    assert answer.status_code == 409
    assert "B4" in answer.content.decode()


def test_past_the_cut_off_the_page_says_why_with_a_409(signed_in, paid, showtime):
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() + timedelta(hours=1))
    answer = signed_in.get(reverse("bookings:exchange", args=[paid.ref]))
    assert answer.status_code == 409
    assert "hours before the show" in answer.content.decode()
    held = signed_in.post(
        reverse("bookings:hold", args=[showtime.pk]), {"seats": ["B3", "B4"], "exchange": paid.ref}
    )
    assert held.status_code == 409
    assert "Change seats or time" not in signed_in.get(paid.get_absolute_url()).content.decode()


def test_the_new_ticket_page_says_what_the_tickets_are_worth(signed_in, buyer, paid, showtime):
    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    services.confirm_exchange(booking=new)
    page = signed_in.get(new.get_absolute_url()).content.decode()
    assert "<dt>Total</dt><dd>£20.00" in page
    assert "You get £20.00" in page, "cancelling gives back what the tickets were paid"


def test_the_list_mode_picks_new_seats_for_the_exchange_too(signed_in, paid, showtime):
    url = f"{showtime.get_absolute_url()}?exchange={paid.ref}"
    page = signed_in.get(url).content.decode()
    assert f"?list=1&amp;exchange={paid.ref}" in page, "the list is fetched for the exchange"

    seat_list = signed_in.get(f"{url}&list=1", HTTP_HX_REQUEST="true").content.decode()
    assert f'name="exchange" value="{paid.ref}"' in seat_list
    assert "Hold new seats" in seat_list
