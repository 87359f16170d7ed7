"""Many customers joining a waiting list at once, and seats coming back in a burst: a fair
order, and no seat offered twice (PostgreSQL: concurrent writers)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking, WaitlistEntry
from cinema.models import Auditorium
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import verified_user
from seats import holds
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = [pytest.mark.django_db(transaction=True), POSTGRES_ONLY]


def test_parallel_joins_and_a_burst_of_returns_offer_in_order_and_each_seat_once(movie):
    hall = save_auditorium(auditorium=Auditorium(name="Eight", layout="A  ssss\nB  ssss\n"))
    tiny = schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    # Sold out: four buyers hold the eight seats in pairs.
    pairs = [["A1", "A2"], ["A3", "A4"], ["B1", "B2"], ["B3", "B4"]]
    holders = [
        services.hold_seats(user=verified_user(f"holder{n}"), showtime=tiny, labels=pair)
        for n, pair in enumerate(pairs)
    ]
    customers = [verified_user(f"waiter{n}") for n in range(30)]

    joined = at_once(
        lambda n: services.join_waitlist(user=customers[n], showtime=tiny, seats=2),
        list(range(30)),
    )
    assert all(isinstance(entry, WaitlistEntry) for entry in joined.values()), joined
    order = list(WaitlistEntry.objects.order_by("id").values_list("pk", flat=True))
    assert len(order) == 30

    # Every holder lets go at once: eight seats come back in a burst.
    released = at_once(lambda booking: services.cancel_booking(booking=booking), holders)
    assert not [error for error in released.values() if isinstance(error, Exception)], released
    assert not Booking.objects.filter(pk__in=[b.pk for b in holders], status="pending").exists()

    offered = list(
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED)
        .select_related("booking")
        .order_by("id")
    )
    labels = [label for entry in offered for label in entry.booking.seat_labels]
    assert len(labels) == len(set(labels)) == 8, "a seat offered twice, or one not offered"
    # First come, first served: the offers went to the head of the list, none skipped.
    assert [entry.pk for entry in offered] == order[:4]
    for entry in offered:
        assert len(entry.booking.seat_labels) == entry.seats
        assert holds.owns(
            showtime_id=tiny.pk, labels=entry.booking.seat_labels, token=entry.booking.hold_token
        )
