"""Every path through the booking lifecycle writes exactly its audit events."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.tests.conftest import kinds
from bookings import services
from bookings.errors import HoldLost, SeatsUnavailable
from bookings.models import Booking
from conftest import DECLINED_CARD, deliver_webhooks, pay, pay_on_gateway, start_paying
from payments.mock.webhooks import pending
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)

Kind = AuditEvent.Kind

# Opening the gateway's page records the attempt and gives the hold a fresh period for it.
STARTED = [Kind.PAYMENT_STARTED, Kind.HOLD_EXTENDED]


def test_hold_records_hold_placed_with_actor_seats_and_expiry(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    event = AuditEvent.objects.get()
    assert event.kind == Kind.HOLD_PLACED
    assert event.actor == user
    assert (event.showtime_id, event.booking_ref, event.seats) == (
        showtime.pk,
        booking.ref,
        ["A3", "A4"],
    )
    assert event.detail["fence"] == booking.fence
    assert event.detail["expires_at"] == booking.expires_at.isoformat()


def test_a_refused_hold_records_nothing(showtime, user, bob):
    services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    with pytest.raises(SeatsUnavailable):
        services.hold_seats(user=bob, showtime=showtime, labels=["A3", "A4"])
    assert kinds() == [Kind.HOLD_PLACED]


def test_extend_records_hold_extended(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.extend_hold(booking=booking)
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, Kind.HOLD_EXTENDED]


def test_payment_records_booking_confirmed_with_what_the_email_needs(showtime, user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, *STARTED, Kind.BOOKING_CONFIRMED]
    detail = AuditEvent.objects.get(kind=Kind.BOOKING_CONFIRMED).detail
    assert detail["email"] == user.email
    assert detail["movie"] == showtime.movie.title
    assert detail["auditorium"] == showtime.auditorium.name
    assert detail["amount"] == "20.00"
    assert detail["booking_path"] == booking.get_absolute_url()


def test_paying_twice_records_one_confirmation(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    buyer.force_login(user)
    pay_on_gateway(buyer, start_paying(booking))
    [delivery] = pending()
    # The gateway sends its event twice, and the buyer presses "Pay" again afterwards.
    for _ in range(2):
        buyer.post(
            "/payments/webhook/",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
    buyer.post(f"/bookings/{booking.ref}/pay/")
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, *STARTED, Kind.BOOKING_CONFIRMED]


def test_declined_payment_records_payment_failed_and_no_confirmation(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    url = start_paying(booking)
    assert pay_on_gateway(buyer, url, card=DECLINED_CARD).status_code == 402
    deliver_webhooks(buyer)
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, *STARTED, Kind.PAYMENT_FAILED]
    assert AuditEvent.objects.get(kind=Kind.PAYMENT_FAILED).detail == {
        "payment": booking.payments.get().pk,
        "reason": "declined",
        "message": "Your card was declined.",
    }
    # The retry that works is recorded as the confirmation, after the failure.
    pay_on_gateway(buyer, url)
    deliver_webhooks(buyer)
    assert kinds(booking.ref) == [
        Kind.HOLD_PLACED,
        *STARTED,
        Kind.PAYMENT_FAILED,
        Kind.BOOKING_CONFIRMED,
    ]


def test_paying_after_the_hold_vanished_records_the_expiry(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    holds.release(showtime_id=showtime.pk, labels=["A3"], token=booking.hold_token)
    with pytest.raises(HoldLost):
        start_paying(booking)
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, Kind.HOLD_EXPIRED]


def test_user_cancel_of_a_hold_records_seats_released(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.cancel_booking(booking=booking)
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, Kind.SEATS_RELEASED]
    event = AuditEvent.objects.get(kind=Kind.SEATS_RELEASED)
    assert (event.actor, event.detail) == (user, {"reason": "cancelled"})


def test_user_cancel_of_a_paid_booking_records_the_refund(showtime, user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    services.cancel_booking(booking=booking)
    assert kinds(booking.ref) == [
        Kind.HOLD_PLACED,
        *STARTED,
        Kind.BOOKING_CONFIRMED,
        Kind.SEATS_RELEASED,
        Kind.REFUND_SENT,
    ]
    detail = AuditEvent.objects.get(kind=Kind.SEATS_RELEASED).detail
    assert detail["refunded"] is True and detail["by_staff"] is False


def test_staff_refund_records_the_staff_member(showtime, user, staff_user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    services.staff_cancel(booking=booking, actor=staff_user)
    event = AuditEvent.objects.get(kind=Kind.SEATS_RELEASED)
    assert event.actor == staff_user
    assert event.detail["by_staff"] is True and event.detail["reason"] == "refunded"


def test_timeout_records_hold_expired_by_the_system(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.expire_stale_bookings(now=timezone.now() + timedelta(minutes=10))
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, Kind.HOLD_EXPIRED]
    event = AuditEvent.objects.get(kind=Kind.HOLD_EXPIRED)
    assert event.actor is None and event.detail == {"reason": "timeout"}


def test_staff_release_of_a_hold_cancels_its_booking(showtime, user, staff_user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    released = services.staff_release_hold(
        showtime=showtime, token=booking.hold_token, actor=staff_user
    )
    assert released == ["A3", "A4"]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert kinds(booking.ref) == [Kind.HOLD_PLACED, Kind.SEATS_RELEASED]
    assert AuditEvent.objects.get(kind=Kind.SEATS_RELEASED).actor == staff_user
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A3", "A4"]) == {}


def test_staff_release_of_a_hold_without_booking_drops_it(showtime, staff_user):
    holds.hold(showtime_id=showtime.pk, labels=["B2"], token="stray", ttl_seconds=60)
    assert services.staff_release_hold(showtime=showtime, token="stray", actor=staff_user) == ["B2"]
    assert holds.held_labels(showtime_id=showtime.pk, labels=["B2"]) == {}
    event = AuditEvent.objects.get()
    assert (event.kind, event.seats, event.detail["orphan"]) == (
        Kind.SEATS_RELEASED,
        ["B2"],
        True,
    )
    with pytest.raises(HoldLost):
        services.staff_release_hold(showtime=showtime, token="stray", actor=staff_user)
