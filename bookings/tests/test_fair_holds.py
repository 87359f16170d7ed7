"""Holds cannot be hoarded: a deadline per account and showtime, limits across showtimes, a
confirmed email first, and no payment once sales are over."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from bookings import services
from bookings.errors import (
    BookingClosed,
    HoldLimitReached,
    HoldLost,
    SalesEnded,
    VerificationRequired,
)
from bookings.models import Booking, Payment
from cinema.models import Auditorium
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import SMALL_LAYOUT, pay, start_paying
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def showtimes(movie, auditorium, showtime):
    """Four showtimes in four halls, the `showtime` fixture first."""
    more = [
        schedule_showtime(
            movie=movie,
            auditorium=save_auditorium(
                auditorium=Auditorium(name=f"Hall {n}", layout=SMALL_LAYOUT)
            ),
            starts_at=timezone.now() + timedelta(days=1),
            price_list=one_price_list(Decimal("10.00")),
        )
        for n in range(2, 5)
    ]
    return [showtime, *more]


def test_reposting_the_same_seats_keeps_the_first_deadline(showtime, user, bob, settings):
    settings.HOLD_TTL_SECONDS, settings.HOLD_MAX_EXTENSIONS = 1, 1
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    deadline = first.expires_at + timedelta(seconds=1)
    time.sleep(0.6)
    again = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    assert again.pk == first.pk
    assert again.expires_at <= deadline
    time.sleep(0.6)
    changed = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert changed.expires_at <= deadline
    time.sleep(max((deadline - timezone.now()).total_seconds(), 0) + 0.05)
    with pytest.raises(BookingClosed, match="as long as one account may"):
        services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert services.hold_seats(user=bob, showtime=showtime, labels=["A3"]).status == "pending"


def test_cancelling_and_holding_again_keeps_the_deadline(showtime, user, settings):
    settings.HOLD_TTL_SECONDS, settings.HOLD_MAX_EXTENSIONS = 2, 1
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    deadline = first.expires_at + timedelta(seconds=2)
    services.cancel_booking(booking=first)
    time.sleep(1.2)
    second = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert second.pk != first.pk
    assert second.expires_at <= deadline


def test_a_purchase_lets_the_buyer_hold_again_at_once(showtime, user, settings):
    settings.HOLD_TTL_SECONDS, settings.HOLD_MAX_EXTENSIONS = 1, 0
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    assert booking.status == Booking.Status.CONFIRMED
    time.sleep(1.05)
    assert services.hold_seats(user=user, showtime=showtime, labels=["A4"]).status == "pending"


def test_one_account_holds_at_most_the_limit_across_showtimes(showtimes, user, bob, settings):
    settings.MAX_SEATS_HELD_PER_ACCOUNT, settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT = 10, 5
    services.hold_seats(user=user, showtime=showtimes[0], labels=["A1", "A2", "A3", "A4"])
    services.hold_seats(user=user, showtime=showtimes[1], labels=["A1", "A2", "A3", "A4"])
    with pytest.raises(HoldLimitReached, match="at most 10 seats"):
        services.hold_seats(user=user, showtime=showtimes[2], labels=["A1", "A2", "A3"])
    assert holds.held_labels(showtime_id=showtimes[2].pk, labels=["A1", "A2", "A3"]) == {}
    # Two more fit; replacing a showtime's selection counts the new one, not both.
    services.hold_seats(user=user, showtime=showtimes[2], labels=["A1", "A2"])
    services.hold_seats(user=user, showtime=showtimes[0], labels=["B1", "B2", "B3", "B4"])
    # Another account is not limited by this one.
    services.hold_seats(user=bob, showtime=showtimes[3], labels=["A1", "A2", "A3", "A4", "A5"])


def test_open_bookings_per_account_are_limited(showtimes, user, settings):
    settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT = 2
    first = services.hold_seats(user=user, showtime=showtimes[0], labels=["A1"])
    services.hold_seats(user=user, showtime=showtimes[1], labels=["A1"])
    with pytest.raises(HoldLimitReached, match="2 other showtimes"):
        services.hold_seats(user=user, showtime=showtimes[2], labels=["A1"])
    services.cancel_booking(booking=first)
    services.hold_seats(user=user, showtime=showtimes[2], labels=["A1"])


def test_a_hold_past_its_time_does_not_count_against_the_limit(showtimes, user, settings):
    settings.MAX_SEATS_HELD_PER_ACCOUNT = 4
    stale = services.hold_seats(user=user, showtime=showtimes[0], labels=["A1", "A2", "A3"])
    # Timed out, not swept yet.
    Booking.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.hold_seats(user=user, showtime=showtimes[1], labels=["A1", "A2", "A3"])


def test_an_unconfirmed_address_cannot_hold(showtime, django_user_model, settings):
    fresh = django_user_model.objects.create_user("new", "new@example.com", "correct-horse-9")
    with pytest.raises(VerificationRequired, match="Confirm your email address"):
        services.hold_seats(user=fresh, showtime=showtime, labels=["A3"])
    assert not Booking.objects.exists()
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A3"]) == {}
    settings.HOLD_REQUIRES_VERIFIED_EMAIL = False
    assert services.hold_seats(user=fresh, showtime=showtime, labels=["A3"]).status == "pending"


@pytest.mark.parametrize(
    ("change", "reason"),
    [("started", "showtime started"), ("stopped", "sales stopped")],
)
def test_no_payment_once_the_showtime_started_or_sales_stopped(showtime, user, change, reason):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    if change == "started":
        showtime.starts_at = timezone.now() - timedelta(minutes=1)
    else:
        showtime.on_sale = False
    showtime.save()

    with pytest.raises(SalesEnded, match="Nothing was charged"):
        start_paying(booking)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not Payment.objects.exists()
    assert not booking.tickets.exists()
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A3", "A4"]) == {}
    ended = AuditEvent.objects.get(booking_ref=booking.ref, kind=AuditEvent.Kind.SEATS_RELEASED)
    assert ended.detail["reason"] == reason


def test_a_hold_cannot_be_extended_once_sales_stopped(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    showtime.on_sale = False
    showtime.save()
    with pytest.raises(BookingClosed, match="not on sale"):
        services.extend_hold(booking=booking)


def test_fences_never_repeat_after_redis_loses_them(showtime, user, bob, redis_db):
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    redis_db.flushdb()
    second = services.hold_seats(user=bob, showtime=showtime, labels=["B3"])
    assert second.fence > first.fence
    # The booking whose hold Redis lost cannot pay.
    with pytest.raises(HoldLost):
        start_paying(first)
