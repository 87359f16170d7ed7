from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bookings.models import REF_ALPHABET, REF_LENGTH, Booking, Ticket


@pytest.fixture
def booking(showtime, user):
    return Booking.objects.create(user=user, showtime=showtime, amount=Decimal("20.00"))


def test_a_seat_can_be_sold_only_once_per_showtime(booking, showtime, user):
    seat = showtime.auditorium.seats.get(label="A3")
    Ticket.objects.create(booking=booking, showtime=showtime, seat=seat, price=Decimal("20.00"))
    other = Booking.objects.create(
        user=user, showtime=showtime, amount=Decimal("10.00"), status=Booking.Status.CONFIRMED
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(booking=other, showtime=showtime, seat=seat, price=Decimal("10.00"))
    assert Ticket.objects.filter(showtime=showtime, seat=seat).count() == 1


def test_refs_are_long_unguessable_and_distinct(booking, showtime, user):
    refs = {booking.ref} | {
        Booking.objects.create(
            user=user, showtime=showtime, amount=Decimal("1"), status=Booking.Status.EXPIRED
        ).ref
        for _ in range(20)
    }
    assert len(refs) == 21
    assert all(len(ref) == REF_LENGTH and set(ref) <= set(REF_ALPHABET) for ref in refs)
