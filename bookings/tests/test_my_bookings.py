"""My bookings: each booking's reference, what became of it in plain words, upcoming first."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from cinema.services import schedule_showtime
from conftest import pay

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", row)
        for row in re.findall(r'<li class="booking-row">(.*?)</li>', html, re.S)
    ]


def test_my_bookings_tell_each_ending_apart_and_show_the_ref(client, user, showtime):
    refunded = pay(services.hold_seats(user=user, showtime=showtime, labels=["A1"]))
    services.cancel_booking(booking=refunded)
    released = services.hold_seats(user=user, showtime=showtime, labels=["A2"])
    services.cancel_booking(booking=released)
    expired = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    Booking.objects.filter(pk=expired.pk).update(status=Booking.Status.EXPIRED)
    client.force_login(user)

    rows = _rows(client.get("/bookings/").content.decode())

    by_ref = {ref: row for row in rows for ref in re.findall(r"Ref (\w+)", row)}
    assert set(by_ref) == {refunded.ref, released.ref, expired.ref}
    assert "Cancelled and refunded" in by_ref[refunded.ref]
    assert "Released, not paid" in by_ref[released.ref]
    assert "Hold expired, not paid" in by_ref[expired.ref]


def test_upcoming_showtimes_come_first_soonest_first_and_past_ones_below(
    client, user, showtime, settings
):
    settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT = 5
    later = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(days=2),
        price_list=showtime.price_list,
    )
    soon = services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    far = services.hold_seats(user=user, showtime=later, labels=["A1"])
    # A showtime already shown, as if booked long ago.
    past = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=timezone.now() - timedelta(days=3),
        price_list=showtime.price_list,
    )
    gone = Booking.objects.create(
        user=user, showtime=past, status=Booking.Status.EXPIRED, amount=10, seat_labels=["A2"]
    )
    client.force_login(user)

    html = client.get("/bookings/").content.decode()

    upcoming, past_part = html.split("<h2", 2)[1:]
    assert upcoming.index(soon.ref) < upcoming.index(far.ref)
    assert gone.ref in past_part and gone.ref not in upcoming


def test_upcoming_lists_only_bookings_that_stand_and_abandoned_holds_go_apart(
    client, user, showtime, settings
):
    settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT = 5
    paid = pay(services.hold_seats(user=user, showtime=showtime, labels=["A1"]))
    released = services.hold_seats(user=user, showtime=showtime, labels=["A2"])
    services.cancel_booking(booking=released)
    held = services.hold_seats(user=user, showtime=showtime, labels=["B2"])
    # An earlier hold that ran out a moment ago, before the sweeper has been by; an older one
    # it did expire.
    another = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(days=1),
        price_list=showtime.price_list,
    )
    run_out = Booking.objects.create(
        user=user,
        showtime=another,
        status=Booking.Status.PENDING,
        amount=10,
        seat_labels=["A3"],
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    expired = Booking.objects.create(
        user=user, showtime=showtime, status=Booking.Status.EXPIRED, amount=10, seat_labels=["B1"]
    )
    client.force_login(user)

    html = client.get("/bookings/").content.decode()

    _, upcoming, ended = re.split(r"<h2 [^>]*>", html)
    assert upcoming.startswith("Upcoming") and ended.startswith("Cancelled or not paid")
    assert {paid.ref, held.ref} == set(re.findall(r"Ref (\w+)", upcoming))
    assert {released.ref, run_out.ref, expired.ref} == set(re.findall(r"Ref (\w+)", ended))
    by_ref = {ref: row for row in _rows(ended) for ref in re.findall(r"Ref (\w+)", row)}
    assert "Hold expired, not paid" in by_ref[run_out.ref]
