"""The URL contract over HTTP: status codes, messages, ownership, CSRF, no half-done changes."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from bookings.models import Booking, Payment, Ticket
from cinema.models import Auditorium
from cinema.services import save_auditorium
from conftest import DECLINED_CARD, GOOD_CARD, deliver_webhooks, pay_on_gateway
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_url(showtime) -> str:
    return f"/showtimes/{showtime.pk}/hold/"


def _nothing_changed(showtime):
    labels = [seat.label for seat in showtime.auditorium.seats.all()]
    assert holds.held_labels(showtime_id=showtime.pk, labels=labels) == {}
    assert not Booking.objects.exists()


def test_hold_redirects_to_the_checkout(client, user, showtime):
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["A3", "A4"]})
    booking = Booking.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/bookings/{booking.ref}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "A3, A4" in page.text and "Pay £20.00" in page.text
    assert 'data-expires="' in page.text


def test_best_available_over_http(client, user, showtime):
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"best": "3"})
    assert response.status_code == 303
    assert len(Booking.objects.get().seat_labels) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"seats": ["Z9"]}, "There is no seat Z9 in this auditorium"),
        ({"seats": ["C4"]}, "Seat C4 is not for sale"),
        ({"seats": ["A3", "A3"]}, "Seat A3 is listed more than once"),
        ({}, "Pick at least one seat"),
        ({"seats": [""]}, "There is no seat"),
        ({"seats": [f"B{n}" for n in range(1, 9)] + ["A1", "A2", "A3"]}, "at most 10 seats"),
        ({"best": "many"}, "Best available needs a number of seats"),
        ({"best": "0"}, "Best available takes 1 to 10 seats"),
        ({"best": "2", "seats": ["A1"]}, "not both"),
    ],
)
def test_bad_hold_requests_are_400_with_a_message(client, user, showtime, data, message):
    client.force_login(user)
    response = client.post(_hold_url(showtime), data)
    assert response.status_code == 400
    assert message in response.text
    _nothing_changed(showtime)


def test_seats_of_another_auditorium_are_400(client, user, showtime):
    save_auditorium(auditorium=Auditorium(name="Other", layout="Q  ssss"))
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["Q1"]})
    assert response.status_code == 400
    assert "There is no seat Q1" in response.text
    _nothing_changed(showtime)


def test_a_taken_seat_is_409_naming_it_and_keeping_the_rest_selected(client, user, bob, showtime):
    other = Client()
    other.force_login(bob)
    # B4 too: no three seats side by side are left to offer instead.
    assert other.post(_hold_url(showtime), {"seats": ["A4", "B4"]}).status_code == 303
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["A3", "A4", "A5"]})
    assert response.status_code == 409
    assert "Taken: A4." in response.text
    assert "data-offer" not in response.text
    checked = set(re.findall(r'value="([A-Z]+\d+)" checked', response.text))
    assert checked == {"A3", "A5"}
    assert Booking.objects.filter(user=user).count() == 0


@pytest.mark.parametrize("htmx", [False, True])
def test_a_taken_seat_is_409_offering_the_nearest_seats_like_them_ticked(
    client, user, bob, showtime, htmx
):
    other = Client()
    other.force_login(bob)
    assert other.post(_hold_url(showtime), {"seats": ["A4"]}).status_code == 303
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(_hold_url(showtime), {"seats": ["A4", "A5"]}, headers=headers)
    assert response.status_code == 409
    assert "Taken: A4." in response.text
    assert re.search(r"data-offer>.*<strong>A5, A6</strong>, ticked on the map", response.text)
    checked = set(re.findall(r'id="seat-([A-Z]+\d+)"[^>]*><input[^>]* checked', response.text))
    assert checked == {"A5", "A6"}
    assert Booking.objects.filter(user=user).count() == 0  # offered, not held
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A5", "A6"]) == {}


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refusals_map_shows_every_hold_not_just_the_asked_seats(
    client, user, bob, showtime, htmx
):
    """A hold reads only the holds of the seats it asks for; the map of its refusal must still
    show the seats held elsewhere on the map."""
    other = Client()
    other.force_login(bob)
    assert other.post(_hold_url(showtime), {"seats": ["A4"]}).status_code == 303
    assert other.post(_hold_url(showtime), {"seats": ["A4", "B2"]}).status_code == 303
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(_hold_url(showtime), {"seats": ["A4"]}, headers=headers)
    assert response.status_code == 409
    assert re.search(r'class="seat seat--held[^"]*" id="seat-B2"', response.text)
    assert re.search(r'class="seat seat--available[^"]*" id="seat-B3"', response.text)


def test_a_refusals_map_shows_a_sale_no_version_told(client, user, bob, showtime):
    """Refusals at one seat-state version share one drawing of the map; a change that was never
    numbered (here a ticket written straight to the database) still shows on the next one."""
    other = Client()
    other.force_login(bob)
    assert other.post(_hold_url(showtime), {"seats": ["A4"]}).status_code == 303
    client.force_login(user)
    headers = {"HX-Request": "true"}
    first = client.post(_hold_url(showtime), {"seats": ["A4"]}, headers=headers)
    assert re.search(r'class="seat seat--available[^"]*" id="seat-B2"', first.text)
    booking = Booking.objects.create(
        user=bob, showtime=showtime, amount=Decimal("10.00"), status=Booking.Status.CONFIRMED
    )
    seat = showtime.auditorium.seats.get(label="B2")
    Ticket.objects.create(booking=booking, showtime=showtime, seat=seat, price=Decimal("10.00"))
    again = client.post(_hold_url(showtime), {"seats": ["A4"]}, headers=headers)
    assert again.status_code == 409
    assert re.search(r'class="seat seat--booked[^"]*" id="seat-B2"', again.text)


def test_past_and_unknown_showtimes(client, user, showtime):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(user)
    assert client.post("/showtimes/abc/hold/", {"seats": ["A1"]}).status_code == 404
    assert client.post("/showtimes/999999/hold/", {"seats": ["A1"]}).status_code == 404
    showtime.starts_at = timezone.now() - timedelta(hours=1)
    showtime.save()
    response = client.post(_hold_url(showtime), {"seats": ["A1"]})
    assert response.status_code == 409
    assert "already started" in response.text
    _nothing_changed(showtime)


def test_another_users_booking_is_404_everywhere(client, user, bob, showtime):
    client.force_login(user)
    client.post(_hold_url(showtime), {"seats": ["A3"]})
    ref = Booking.objects.get().ref
    intruder = Client()
    intruder.force_login(bob)
    for path in ["", "pay/", "extend/", "cancel/"]:
        method = intruder.get if not path else intruder.post
        assert method(f"/bookings/{ref}/{path}").status_code == 404
    assert Booking.objects.get().status == Booking.Status.PENDING
    assert not Payment.objects.exists()


@pytest.mark.parametrize("path", ["hold", "pay", "extend", "cancel"])
def test_get_on_a_post_endpoint_is_405(client, user, showtime, path):
    client.force_login(user)
    client.post(_hold_url(showtime), {"seats": ["A3"]})
    ref = Booking.objects.get().ref
    url = _hold_url(showtime) if path == "hold" else f"/bookings/{ref}/{path}/"
    assert client.get(url).status_code == 405
    assert Booking.objects.get().status == Booking.Status.PENDING


def test_missing_csrf_token_is_403_and_changes_nothing(user, showtime):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["A3"]})
    assert response.status_code == 403
    _nothing_changed(showtime)


def test_anonymous_visitors_are_sent_to_sign_in(client, showtime):
    response = client.post(_hold_url(showtime), {"seats": ["A3"]})
    assert response.status_code == 303
    assert "login" in response["Location"]
    assert client.get("/bookings/").status_code == 302
    _nothing_changed(showtime)


def test_pay_decline_then_success_over_http(client, user, showtime):
    client.force_login(user)
    client.post(_hold_url(showtime), {"seats": ["A3"]})
    ref = Booking.objects.get().ref
    to_gateway = client.post(f"/bookings/{ref}/pay/")
    assert to_gateway.status_code == 303
    checkout = to_gateway["Location"]
    assert checkout.startswith("/mock-gateway/checkout/")
    # The card is typed on the gateway's page, which says "declined" itself; we hear of it by
    # webhook, and the booking waits for another card.
    declined = pay_on_gateway(client, checkout, card=DECLINED_CARD)
    assert declined.status_code == 402
    assert "Your card was declined" in declined.text
    deliver_webhooks(client)
    assert Booking.objects.get().status == Booking.Status.PENDING
    paid = pay_on_gateway(client, checkout, card=GOOD_CARD)
    assert paid.status_code == 303
    assert paid["Location"].endswith(f"/bookings/{ref}/paid/")
    deliver_webhooks(client)
    page = client.get(paid["Location"])
    assert "Your ticket<" in page.text and Booking.objects.get().payment_ref not in page.text
    assert ref in client.get("/bookings/").text


def test_cancel_and_extend_over_http(client, user, showtime):
    client.force_login(user)
    client.post(_hold_url(showtime), {"seats": ["A3"]})
    ref = Booking.objects.get().ref
    assert client.post(f"/bookings/{ref}/extend/").status_code == 303
    assert client.post(f"/bookings/{ref}/cancel/").status_code == 303
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    again = client.post(f"/bookings/{ref}/pay/")
    assert again.status_code == 409
    assert "cancelled" in again.text


def test_rate_limited_holds_are_429(client, user, showtime, settings):
    settings.RATE_LIMITS = {"hold": (1, 60), "release": (1, 60)}
    client.force_login(user)
    assert client.post(_hold_url(showtime), {"seats": ["A3"]}).status_code == 303
    response = client.post(_hold_url(showtime), {"seats": ["A4"]})
    assert response.status_code == 429
    assert "Too many requests" in response.text


def test_an_extend_past_the_cap_redirects_with_the_reason(client, user, showtime, settings):
    settings.HOLD_MAX_EXTENSIONS = 0
    client.force_login(user)
    client.post(_hold_url(showtime), {"seats": ["A3"]})
    ref = Booking.objects.get().ref
    refused = client.post(f"/bookings/{ref}/extend/")
    assert refused.status_code == 303
    assert "extended as far as it can go" in client.get(refused["Location"]).text
