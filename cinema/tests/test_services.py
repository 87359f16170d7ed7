from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.models import Booking, Ticket
from cinema.models import Auditorium, Seat, Showtime
from cinema.services import one_price_list, save_auditorium, schedule_showtime


def test_saving_an_auditorium_creates_its_seats(auditorium):
    seats = {seat.label: seat for seat in auditorium.seats.all()}
    assert len(seats) == 24
    assert seats["C1"].kind == Seat.Kind.ACCESSIBLE
    assert seats["C2"].kind == Seat.Kind.COMPANION
    assert seats["C4"].blocked is True
    assert (seats["C1"].x, seats["C1"].y) == (0, 3)


def test_seat_label_is_unique_per_auditorium(auditorium):
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.create(auditorium=auditorium, row="A", number=1, label="A1", x=20, y=0)


def test_same_label_in_another_auditorium_is_fine(auditorium):
    other = save_auditorium(auditorium=Auditorium(name="Other", layout="A  ss"))
    assert other.seats.filter(label="A1").exists()


def test_changing_the_layout_updates_seats_in_place(auditorium):
    a1 = auditorium.seats.get(label="A1")
    auditorium.layout = "A  xs|ssss|ss\nB  ss|ssss|ss\n-\nC  ac|sxss|ca\nD  ss"
    save_auditorium(auditorium=auditorium)
    a1.refresh_from_db()
    assert a1.blocked is True
    assert auditorium.seats.filter(label="D2").exists()
    assert auditorium.seats.count() == 26


def test_a_malformed_layout_changes_nothing(auditorium):
    auditorium.layout = "A  ss?s"
    with pytest.raises(ValidationError, match="column 6"):
        save_auditorium(auditorium=auditorium)
    assert Auditorium.objects.get(pk=auditorium.pk).layout.startswith("A  ss|ssss|ss")
    assert auditorium.seats.count() == 24


def test_a_sold_seat_cannot_be_removed_from_the_layout(auditorium, showtime, user):
    booking = Booking.objects.create(user=user, showtime=showtime, amount=Decimal("10"))
    Ticket.objects.create(
        booking=booking,
        showtime=showtime,
        seat=auditorium.seats.get(label="B8"),
        price=Decimal("10"),
    )
    auditorium.layout = "A  ss|ssss|ss\nB  ss|ssss|s\n-\nC  ac|sxss|ca"
    with pytest.raises(ValidationError, match="B8 have tickets"):
        save_auditorium(auditorium=auditorium)
    assert auditorium.seats.filter(label="B8").exists()


def test_showtime_end_includes_runtime_and_cleaning_gap(showtime, settings):
    expected = timedelta(minutes=showtime.movie.runtime_minutes + settings.CLEANING_GAP_MINUTES)
    assert showtime.ends_at - showtime.starts_at == expected


@pytest.mark.parametrize(
    ("offset_minutes", "allowed"),
    [
        (-60, False),  # starts before and runs into it
        (0, False),  # same start
        (100, False),  # inside the cleaning gap
        (115, True),  # right after runtime (100) plus the gap (15)
        (-115, True),  # ends exactly when it starts
        (-114, False),
    ],
)
def test_overlapping_showtimes_are_rejected(showtime, offset_minutes, allowed):
    def schedule():
        return schedule_showtime(
            movie=showtime.movie,
            auditorium=showtime.auditorium,
            starts_at=showtime.starts_at + timedelta(minutes=offset_minutes),
            price_list=one_price_list(Decimal("9.00")),
        )

    if allowed:
        schedule()
        assert Showtime.objects.count() == 2
    else:
        with pytest.raises(ValidationError, match="Test Hall is busy: 'Test Film' starts at"):
            schedule()
        assert Showtime.objects.count() == 1


def test_the_same_time_in_another_auditorium_is_fine(showtime):
    other = save_auditorium(auditorium=Auditorium(name="Other", layout="A  ss"))
    schedule_showtime(
        movie=showtime.movie,
        auditorium=other,
        starts_at=showtime.starts_at,
        price_list=one_price_list(Decimal("5")),
    )
    assert Showtime.objects.count() == 2


def test_moving_a_showtime_does_not_clash_with_itself(showtime):
    moved = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(minutes=30),
        price_list=showtime.price_list,
        showtime=showtime,
    )
    assert moved.pk == showtime.pk
    assert Showtime.objects.count() == 1
