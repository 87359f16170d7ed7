"""A customer changes a paid booking through the API as on its pages: moves it to other seats
(paying or getting back the difference) and passes tickets on or takes them back, with the
services' rules and codes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from api.tests.problems import assert_problem
from bookings import services
from bookings.models import Booking, Refund, Transfer, VoidTicket
from cinema.services import one_price_list, schedule_showtime
from conftest import deliver_webhooks, pay, pay_on_gateway

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1"


@pytest.fixture
def buyer(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paid(user, showtime) -> Booking:
    """A3 and A4 at 10.00 each, paid."""
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


def _post(client, path, body=None):
    return client.post(f"{API}{path}", body or {}, content_type="application/json")


def _later(showtime, price: str):
    return schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(hours=3),
        price_list=one_price_list(Decimal(price)),
    )


def test_an_exchange_to_cheaper_seats_is_confirmed_and_the_difference_refunded(
    buyer, paid, showtime
):
    cheaper = _later(showtime, "8.00")
    started = _post(
        buyer, f"/bookings/{paid.ref}/exchange", {"showtime": cheaper.pk, "seats": ["B1", "B2"]}
    )
    assert started.status_code == 201, started.content
    new = started.json()
    assert (new["status"], new["exchange_of"], new["difference"]) == ("pending", paid.ref, "-4.00")
    assert (new["showtime"], new["seats"], new["amount"]) == (cheaper.pk, ["B1", "B2"], "0.00")

    done = _post(buyer, f"/bookings/{new['ref']}/exchange/confirm")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "confirmed" and len(done.json()["tickets"]) == 2
    assert buyer.get(f"{API}/bookings/{paid.ref}").json()["status"] == "exchanged"
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("4.00")]
    # Confirmed once: again is a 409, and nothing more is refunded.
    assert_problem(_post(buyer, f"/bookings/{new['ref']}/exchange/confirm"), 409, "booking_closed")
    assert Refund.objects.count() == 1


def test_an_exchange_to_dearer_seats_is_paid_through_the_provider(buyer, paid, showtime, client):
    dearer = _later(showtime, "12.50")
    new = _post(
        buyer, f"/bookings/{paid.ref}/exchange", {"showtime": dearer.pk, "seats": ["C3", "C5"]}
    ).json()
    assert (new["amount"], new["difference"]) == ("5.00", "5.00")
    assert_problem(_post(buyer, f"/bookings/{new['ref']}/exchange/confirm"), 400, "invalid_request")

    started = _post(buyer, f"/bookings/{new['ref']}/pay", {"total": "5.00"})
    assert started.status_code == 201, started.content
    assert pay_on_gateway(buyer, started.json()["url"]).status_code == 303
    deliver_webhooks(client)
    assert buyer.get(f"{API}/bookings/{new['ref']}").json()["status"] == "confirmed"
    assert buyer.get(f"{API}/bookings/{paid.ref}").json()["status"] == "exchanged"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"showtime": 0, "seats": ["B1", "B2"]}, 400, "invalid_request"),
        ({"showtime": 999999, "seats": ["B1", "B2"]}, 404, "not_found"),
        ({"seats": ["B1", "B2"]}, 400, "invalid_request"),
        ("same", 400, "invalid_request"),  # one seat for a booking of two
        ("kept", 409, "seats_unavailable"),  # seats it has already
    ],
)
def test_a_wrong_exchange_is_refused_and_holds_nothing(buyer, paid, showtime, body, status, code):
    if body == "same":
        body = {"showtime": showtime.pk, "seats": ["B1"]}
    elif body == "kept":
        body = {"showtime": showtime.pk, "seats": ["A3", "B1"]}
    answer = _post(buyer, f"/bookings/{paid.ref}/exchange", body)
    assert answer.status_code == status, answer.content
    assert answer.json()["code"] == code
    assert Booking.objects.count() == 1


def test_anothers_booking_is_not_found(bob, paid, showtime):
    other = Client()
    other.force_login(bob)
    body = {"showtime": showtime.pk, "seats": ["B1", "B2"]}
    assert_problem(_post(other, f"/bookings/{paid.ref}/exchange", body), 404, "not_found")
    assert_problem(
        _post(other, f"/bookings/{paid.ref}/pass-on", {"seats": ["A3"], "email": "x@example.com"}),
        404,
        "not_found",
    )


def test_tickets_passed_on_and_taken_back(buyer, paid):
    old = paid.tickets.get(seat__label="A3").secret
    given = _post(
        buyer, f"/bookings/{paid.ref}/pass-on", {"seats": ["A3"], "email": "dee@example.com"}
    )
    assert given.status_code == 201, given.content
    transfer = given.json()
    assert (transfer["seats"], transfer["email"], transfer["status"]) == (
        ["A3"],
        "dee@example.com",
        "sent",
    )
    assert VoidTicket.objects.get(secret=old).reason == VoidTicket.Reason.TRANSFERRED
    listed = buyer.get(f"{API}/bookings/{paid.ref}/transfers").json()
    assert [each["ref"] for each in listed] == [transfer["ref"]]
    # Passed on already: the buyer may not pass it on again.
    again = _post(
        buyer, f"/bookings/{paid.ref}/pass-on", {"seats": ["A3"], "email": "eve@example.com"}
    )
    assert_problem(again, 409, "transfer_refused")

    back = buyer.delete(f"{API}/bookings/{paid.ref}/transfers/{transfer['ref']}")
    assert back.status_code == 200, back.content
    assert back.json()["status"] == "cancelled"
    assert Transfer.objects.get().status == Transfer.Status.CANCELLED
    assert buyer.delete(f"{API}/bookings/{paid.ref}/transfers/NOSUCH").status_code == 404
    assert mail.outbox == [] or all(m.to != ["eve@example.com"] for m in mail.outbox)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"seats": ["A3"], "email": "not-an-address"}, 400, "invalid_request"),
        ({"seats": ["Z9"], "email": "dee@example.com"}, 400, "invalid_request"),
        ({"seats": [], "email": "dee@example.com"}, 400, "invalid_request"),
        ({"seats": ["A3"], "email": "ann@example.com"}, 409, "transfer_refused"),
    ],
)
def test_a_wrong_transfer_is_refused_and_changes_nothing(buyer, paid, user, body, status, code):
    if body["email"] == "ann@example.com":
        body["email"] = user.email
    answer = _post(buyer, f"/bookings/{paid.ref}/pass-on", body)
    assert answer.status_code == status, answer.content
    assert answer.json()["code"] == code
    assert not Transfer.objects.exists() and not VoidTicket.objects.exists()
