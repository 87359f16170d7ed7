"""What happens when seats change: the one place that orders it (DESIGN.md, "Seat changes and
the live map").

Every change that moves a seat between AVAILABLE, HELD and BOOKED comes through here, called
inside the transaction that makes it, with the audit event that records it. On commit, in this
order (Django runs on-commit callbacks in the order they were registered, so the order here is
the order of the calls below, and no service orders these steps itself):
1. Redis follows the database: a released hold is dropped, a sold one becomes a sold mark; each
   of these scripts numbers the change (seats.holds, "Versions");
2. the viewers are told (`seats.broadcast.tell`, which numbers its reading; this module is its
   only caller);
3. the event is appended to the stream (`audit.record` registers that append; it is called
   after 1-2 are registered).
A process killed between 2 and 3 leaves its event unappended: the catch-up that appends it
later tells the viewers again (`events_caught_up`). The other way round, a kill between the
append and the telling would leave nobody to tell them. Whatever is lost still, every open
socket is checked against the truth (seats.consumers).

Seats that come back (freed, or dropped from a hold) are then offered to the showtime's waiting
list (`waitlist.offer_on_commit`, registered after the steps above, so the seats are free in
Redis when it runs); an offer's booking that ends lapses the offer, and one sold claims it, in
the transaction that makes the change.

A hold is numbered by its Lua script before the commit (the script decides whether it is held at
all); a process killed after it and before the commit leaves a hold no booking owns, which the
sweeper announces when it lapses (`holds_lapsed`).
"""

import logging

from django.db import transaction

from audit.services import Kind, record
from bookings.models import Booking
from bookings.services import waitlist
from bookings.services.records import audit_booking
from cinema.models import Showtime
from seats import holds
from seats.broadcast import tell

log = logging.getLogger(__name__)


def seats_held(*, booking: Booking, dropped: list[str], booked: set[str], actor, **detail) -> None:
    """The booking's hold was placed in Redis: once committed, free the seats its new selection
    dropped, tell the viewers of both, and record the hold (HOLD_PLACED). `booked` is every sold
    seat of the showtime as the hold read them."""
    showtime, labels, token = booking.showtime, list(booking.seat_labels), booking.hold_token

    def after_commit():
        holds.release(showtime_id=showtime.pk, labels=dropped, token=token)
        tell(showtime=showtime, labels=[*labels, *dropped], booked=booked)

    transaction.on_commit(after_commit, robust=True)
    audit_booking(Kind.HOLD_PLACED, booking, actor=actor, **detail)
    if dropped:
        waitlist.offer_on_commit(showtime_id=showtime.pk)


def seats_freed(
    *,
    kind: str,
    booking: Booking | None = None,
    showtime: Showtime | None = None,
    labels: list[str] | None = None,
    token: str = "",
    actor=None,
    **detail,
) -> None:
    """Seats of the booking (all of them unless `labels`) or of a hold no booking owns
    (`showtime`, `labels`, `token`) are free: once committed, drop what is left of the hold, tell
    the viewers, and record the event `kind`."""
    if booking is not None:
        labels = list(booking.seat_labels) if labels is None else labels
        token = booking.hold_token

    def after_commit():
        # The showtime is read (if the booking has not) after the commit, not under its lock.
        where = showtime or booking.showtime
        holds.release(showtime_id=where.pk, labels=labels, token=token)
        tell(showtime=where, labels=labels)

    transaction.on_commit(after_commit, robust=True)
    if booking is not None:
        audit_booking(kind, booking, actor=actor, seats=labels, **detail)
        waitlist.offer_ended(booking=booking, kind=kind)
    else:
        record(kind, actor=actor, showtime_id=showtime.pk, seats=labels, detail=detail)
    waitlist.offer_on_commit(showtime_id=showtime.pk if showtime else booking.showtime_id)


def seats_sold(*, booking: Booking, actor, **detail) -> None:
    """The booking's tickets are written: once committed, its hold becomes a sold mark, every
    viewer sees the seats sold, and the confirmation is recorded (BOOKING_CONFIRMED)."""
    labels = list(booking.seat_labels)

    def after_commit():
        holds.sell(showtime_id=booking.showtime_id, labels=labels, token=booking.hold_token)
        tell(showtime=booking.showtime, labels=labels, booked=set(labels))

    transaction.on_commit(after_commit, robust=True)
    audit_booking(Kind.BOOKING_CONFIRMED, booking, actor=actor, **detail)
    waitlist.offer_claimed(booking=booking)


def booking_moved(
    *,
    booking: Booking,
    was_showtime: Showtime,
    was_labels: list[str],
    was_token: str,
    actor,
    **detail,
) -> None:
    """The booking's tickets moved from `was_labels` of `was_showtime` (sold under `was_token`)
    to its seats now, held for the move: once committed, the old seats are free and the new ones
    sold, in Redis and before both showtimes' viewers, and the move is recorded (BOOKING_MOVED;
    the freed seats are then offered to the old showtime's waiting list)."""
    labels = list(booking.seat_labels)

    def after_commit():
        holds.release(showtime_id=was_showtime.pk, labels=was_labels, token=was_token)
        tell(showtime=was_showtime, labels=was_labels)
        holds.sell(showtime_id=booking.showtime_id, labels=labels, token=booking.hold_token)
        tell(showtime=booking.showtime, labels=labels, booked=set(labels))

    transaction.on_commit(after_commit, robust=True)
    audit_booking(Kind.BOOKING_MOVED, booking, actor=actor, **detail)
    waitlist.offer_on_commit(showtime_id=was_showtime.pk)


def wheelchair_places_released(*, showtime: Showtime, labels: list[str]) -> None:
    """The showtime's wheelchair spaces and companion seats, kept for wheelchair users until
    now, are on general sale: once committed, tell the viewers (the free ones turn from kept to
    available) and record it (WHEELCHAIR_RELEASED)."""
    transaction.on_commit(lambda: tell(showtime=showtime, labels=labels), robust=True)
    record(Kind.WHEELCHAIR_RELEASED, showtime_id=showtime.pk, seats=labels)
    waitlist.offer_on_commit(showtime_id=showtime.pk)


def wheelchair_places_kept(*, showtime: Showtime, labels: list[str]) -> None:
    """The showtime's wheelchair spaces and companion seats, on general sale until now, are kept
    for wheelchair users again (staff moved the release time later): once committed, tell the
    viewers (the free ones turn from available to kept) and record it (WHEELCHAIR_KEPT)."""
    transaction.on_commit(lambda: tell(showtime=showtime, labels=labels), robust=True)
    record(Kind.WHEELCHAIR_KEPT, showtime_id=showtime.pk, seats=labels)


def hold_undone(*, showtime: Showtime, labels: list[str], token: str) -> None:
    """Drop a hold placed in Redis whose booking could not be written (its transaction rolled
    back, or is spoilt). Nobody was told of it; the release numbers the change, so a socket that
    read the hold meanwhile is healed by its next check."""
    holds.release(showtime_id=showtime.pk, labels=labels, token=token)


def holds_lapsed(*, showtime: Showtime) -> list[str]:
    """Tell the viewers of the seats whose hold ended by itself (its time ran out with no
    release: a booking's hold the sweeper has not expired yet, or one no booking ever owned),
    and offer them to the waiting list; returns them. Not audited: a booking's expiry is, by
    `expire_booking`."""
    lapsed = holds.lapse(showtime_id=showtime.pk).labels
    tell(showtime=showtime, labels=lapsed)
    if lapsed:
        waitlist.offer_on_commit(showtime_id=showtime.pk)
    return lapsed


def events_caught_up(*, events, **_signal) -> None:
    """Tell the viewers again about the seats of events the catch-up appended late (connected to
    `audit.stream.events_caught_up`): the process that committed them may have died before its
    own telling (step 2 above). Each telling reads the seats now, so telling twice is harmless."""
    seats: dict[int, set[str]] = {}
    for event in events:
        if event.showtime_id and event.seats:
            seats.setdefault(event.showtime_id, set()).update(event.seats)
    for showtime in Showtime.objects.select_related("auditorium").filter(pk__in=seats):
        tell(showtime=showtime, labels=seats[showtime.pk])
