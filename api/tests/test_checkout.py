"""A held booking's checkout through the API: ticket types, a voucher, and the tickets once
paid, each with its door code; the checkout's rules refuse with their codes."""

from decimal import Decimal

import pytest
from django.test import Client

from api.tests.problems import assert_problem
from bookings import ticket_codes
from bookings.models import Booking
from cinema.models import TicketPrice, TicketType, Voucher
from conftest import pay

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def child(showtime):
    child = TicketType.objects.create(name="Child", position=2)
    TicketPrice.objects.create(price_list=showtime.price_list, ticket_type=child, price=6)
    return child


@pytest.fixture
def buyer(user):
    client = Client()
    client.force_login(user)
    return client


def _held(buyer, showtime, *seats) -> str:
    held = buyer.post(
        f"{API}/showtimes/{showtime.pk}/holds", {"seats": list(seats)}, "application/json"
    )
    assert held.status_code == 201, held.content
    return held.json()["ref"]


def test_choosing_a_ticket_type_prices_the_booking_again(buyer, showtime, child):
    ref = _held(buyer, showtime, "A1", "A2")
    chosen = buyer.post(
        f"{API}/bookings/{ref}/tickets", {"choices": {"A2": child.pk}}, "application/json"
    )
    assert chosen.status_code == 200, chosen.content
    booking = chosen.json()
    assert [(t["seat"], t["type"], t["price"]) for t in booking["tickets"]] == [
        ("A1", "Adult", "10.00"),
        ("A2", "Child", "6.00"),
    ]
    assert booking["amount"] == "16.00"
    assert Booking.objects.get().amount == Decimal("16.00")


@pytest.mark.parametrize(
    "choices, status",
    [({"Z9": 1}, 400), ({"A1": 999999}, 400), ({"A1": "²"}, 400), ("A1", 400), ({}, 200)],
)
def test_a_bad_choice_is_a_400_that_changes_nothing(buyer, showtime, child, choices, status):
    ref = _held(buyer, showtime, "A1")
    response = buyer.post(f"{API}/bookings/{ref}/tickets", {"choices": choices}, "application/json")
    assert response.status_code == status, response.content
    assert Booking.objects.get().amount == Decimal("10.00")


def test_a_voucher_goes_on_and_comes_off(buyer, showtime):
    Voucher.objects.create(code="TENOFF", kind=Voucher.Kind.PERCENT, value=10, max_uses=1)
    ref = _held(buyer, showtime, "A1", "A2")
    on = buyer.post(f"{API}/bookings/{ref}/voucher", {"code": " tenoff "}, "application/json")
    assert on.status_code == 200, on.content
    assert (on.json()["voucher"], on.json()["discount"], on.json()["amount"]) == (
        "TENOFF",
        "2.00",
        "18.00",
    )
    off = buyer.delete(f"{API}/bookings/{ref}/voucher")
    assert (off.json()["voucher"], off.json()["amount"]) == (None, "20.00")
    again = buyer.delete(f"{API}/bookings/{ref}/voucher")  # nothing to take off: the same answer
    assert (again.status_code, again.json()) == (200, off.json())


def test_a_used_up_or_unknown_voucher_is_refused(buyer, bob, showtime):
    Voucher.objects.create(code="ONCE", kind=Voucher.Kind.PERCENT, value=10, max_uses=1)
    other = Client()
    other.force_login(bob)
    theirs = _held(other, showtime, "B1")
    assert (
        other.post(
            f"{API}/bookings/{theirs}/voucher", {"code": "ONCE"}, "application/json"
        ).status_code
        == 200
    )
    ref = _held(buyer, showtime, "A1")
    assert_problem(
        buyer.post(f"{API}/bookings/{ref}/voucher", {"code": "ONCE"}, "application/json"),
        409,
        "voucher_refused",
    )
    assert_problem(
        buyer.post(f"{API}/bookings/{ref}/voucher", {"code": "NOPE"}, "application/json"),
        400,
        "invalid_request",
    )
    assert Booking.objects.get(ref=ref).voucher is None


def test_a_paid_booking_has_its_tickets_with_their_door_codes(buyer, showtime):
    ref = _held(buyer, showtime, "A1", "A2")
    pay(Booking.objects.get(ref=ref))
    booking = buyer.get(f"{API}/bookings/{ref}").json()
    assert booking["status"] == "confirmed"
    codes = [ticket_codes.decode(ticket["code"]) for ticket in booking["tickets"]]
    assert {code.showtime_id for code in codes} == {showtime.pk}
    assert [t["seat"] for t in booking["tickets"]] == ["A1", "A2"]
    closed = buyer.post(f"{API}/bookings/{ref}/tickets", {"choices": {"A1": 1}}, "application/json")
    assert_problem(closed, 409, "booking_closed")


def test_another_customer_s_booking_cannot_be_changed(buyer, bob, showtime, child):
    ref = _held(buyer, showtime, "A1")
    other = Client()
    other.force_login(bob)
    assert_problem(
        other.post(
            f"{API}/bookings/{ref}/tickets", {"choices": {"A1": child.pk}}, "application/json"
        ),
        404,
        "not_found",
    )
    assert_problem(
        other.post(f"{API}/bookings/{ref}/voucher", {"code": "X"}, "application/json"),
        404,
        "not_found",
    )
    assert_problem(other.get(f"{API}/bookings/{ref}"), 404, "not_found")
