"""Fixtures of the bookings tests that more than one module uses."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from cinema.models import Auditorium
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import verified_user


@pytest.fixture
def tiny(movie):
    """A showtime of a hall with one row of four seats."""
    hall = save_auditorium(auditorium=Auditorium(name="Tiny", layout="A  ssss\n"))
    return schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )


@pytest.fixture
def full(tiny):
    """The tiny showtime with every seat held by one buyer: the booking holding them."""
    return services.hold_seats(
        user=verified_user("carol"), showtime=tiny, labels=["A1", "A2", "A3", "A4"]
    )
