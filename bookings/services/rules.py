"""Rules every step of a booking shares: when a showtime sells, whose deadline a hold counts
against, whether a booking still holds its seats, and how a PENDING booking ends."""

import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bookings import checkout
from bookings.errors import BookingClosed, LoneSeat, SalesEnded, SeatsKeptBack
from bookings.models import Booking
from bookings.services import seat_changes
from cinema.access import COMPANION, companions, kept_back, release_time
from cinema.models import Showtime
from cinema.plans import Plan, PlanSeat, free_runs, row_segments
from infra.dates import show_when
from seats import holds


def sales_ended(showtime: Showtime) -> str | None:
    """Why the showtime sells nothing more, "showtime cancelled", "sales stopped" or "showtime
    started", or None."""
    if showtime.cancelled_at is not None:
        return "showtime cancelled"
    if not showtime.on_sale:
        return "sales stopped"
    if showtime.starts_at <= timezone.now():
        return "showtime started"
    return None


# What each reason of `sales_ended` tells someone picking seats, and someone paying.
NOT_ON_SALE = {
    "showtime cancelled": "This showtime has been cancelled.",
    "sales stopped": "Tickets for this showtime are not on sale.",
    "showtime started": "This showtime has already started.",
}
NOT_PAYABLE = {
    "showtime cancelled": "This showtime has been cancelled, so your seats are released. "
    "Nothing was charged.",
    "sales stopped": "Sales for this showtime have been stopped, so your seats are released. "
    "Nothing was charged.",
    "showtime started": "This showtime has already started, so your seats are released. "
    "Nothing was charged.",
}


def check_on_sale(showtime: Showtime) -> None:
    """Holding and extending need the showtime on sale (and its on-sale time come) and not
    started."""
    if reason := sales_ended(showtime):
        raise BookingClosed(NOT_ON_SALE[reason])
    if showtime.sale_opens_later:
        raise BookingClosed(f"Tickets go on sale on {show_when(showtime.on_sale_at)}.")


def check_sales_open(showtime: Showtime) -> None:
    """Paying needs the same; a booking that can no longer be paid ends, its seats released."""
    if reason := sales_ended(showtime):
        raise SalesEnded(NOT_PAYABLE[reason], reason=reason)


def seats_beside(*, plan: Plan, labels: list[str]) -> set[str]:
    """The seats side by side with any of `labels` (theirs included): what the lone-seat rule
    looks at, so what a hold reads the states of. Unknown labels are left out."""
    picked = {label for label in labels if label in plan.seats_by_label}
    rows = {plan.seats_by_label[label].row for label in picked}
    beside: set[str] = set()
    for row in plan.rows:
        if row is not None and row.label in rows:
            for segment in row_segments(row):
                if any(seat.label in picked for seat in segment):
                    beside.update(seat.label for seat in segment)
    return beside


def check_no_lone_seat(*, plan: Plan, labels: list[str], taken: set[str]) -> None:
    """Refuse seats that would leave one free seat alone between them and a taken (or blocked)
    seat, or between two of them: nobody buys it. An aisle, a gap or a wall beside the seat
    leaves it an aisle seat, which sells. Allowed when no block of as many seats in that run of
    free seats avoids it (two seats left between taken ones and one wanted): the buyer has no
    other way there, and sending them away would sell neither seat."""
    picked = set(labels)
    gone = taken | {seat.label for seat in plan.seats_by_id.values() if seat.blocked}
    alone: list[str] = []
    for segment in (segment for row in plan.rows if row for segment in row_segments(row)):
        for run in free_runs(segment, gone):
            count = sum(seat.label in picked for seat in run)
            if count == 0:
                continue
            taken_left = run[0] is not segment[0]
            taken_right = run[-1] is not segment[-1]
            lone = _lone_seats(run, picked, taken_left=taken_left, taken_right=taken_right)
            if lone and _avoidable(len(run), count, taken_left=taken_left, taken_right=taken_right):
                alone.extend(lone)
    if len(alone) == 1:
        raise LoneSeat(
            f"That would leave {alone[0]} on its own: pick it too or move one seat along."
        )
    if alone:
        names = f"{', '.join(alone[:-1])} and {alone[-1]}"
        raise LoneSeat(f"That would leave {names} on their own: pick them too or move along.")


def _lone_seats(
    run: list[PlanSeat], picked: set[str], *, taken_left: bool, taken_right: bool
) -> list[str]:
    """The free, unpicked seats of the run with a picked or taken seat on either side."""
    closed = [taken_left, *(seat.label in picked for seat in run), taken_right]
    return [
        seat.label
        for i, seat in enumerate(run)
        if seat.label not in picked and closed[i] and closed[i + 2]
    ]


def _avoidable(length: int, count: int, *, taken_left: bool, taken_right: bool) -> bool:
    """Whether `count` seats side by side fit in the run without a lone seat by a taken one."""
    return any(
        not (taken_left and start == 1) and not (taken_right and length - start - count == 1)
        for start in range(length - count + 1)
    )


def check_wheelchair_places(
    *, showtime: Showtime, plan: Plan, labels: list[str], wheelchair: bool
) -> None:
    """Until the showtime's release time, wheelchair spaces and companion seats go only to a
    buyer who says they need a space, and a companion seat only with the space it belongs to
    (both then held by one all-or-nothing hold). Nobody is asked for proof."""
    kept = kept_back(showtime=showtime, plan=plan) & set(labels)
    if not kept:
        return
    until = show_when(release_time(showtime))
    if not wheelchair:
        raise SeatsKeptBack(
            "Wheelchair spaces and their companion seats are kept for wheelchair users until "
            f"{until}. If you need a wheelchair space, say so above the seat map; otherwise "
            "please choose other seats.",
            conflicts=sorted(kept),
        )
    pairs = companions(plan)
    alone = sorted(
        label
        for label in kept
        if plan.seats_by_label[label].kind == COMPANION and pairs.get(label) not in labels
    )
    if alone:
        beside = sorted({pairs[label] for label in alone if label in pairs})
        with_space = f" together with {', '.join(beside)}" if beside else " with a wheelchair space"
        raise SeatsKeptBack(
            f"Until {until} a companion seat is sold only{with_space}, the wheelchair space "
            "beside it.",
            conflicts=alone,
        )


def hold_owner(user_id: int) -> str:
    """Whose deadline a hold counts against in Redis: the account."""
    return f"user:{user_id}"


# Marks the hold token of seats offered from a waiting list (after the account's tag, so the seat
# map still tells the customer's own seats by `holds.owner_tag`).
OFFER_MARK = "offer-"


def offer_token(user_id: int) -> str:
    """A hold token for seats offered to the user from a waiting list. Its own deadline in Redis
    is the offer's (the token is its owner), not the account's, which a hold of their own may
    have used up already."""
    return f"{holds.owner_tag(user_id)}{OFFER_MARK}{secrets.token_urlsafe(16)}"


def is_offer(booking: Booking) -> bool:
    return booking.hold_token.startswith(f"{holds.owner_tag(booking.user_id)}{OFFER_MARK}")


def extend_in_redis(booking: Booking) -> holds.ExtendResult:
    # An offer's deadline is its claim window: extending it against the account's deadline could
    # cut it short to one hold period.
    return holds.extend(
        showtime_id=booking.showtime_id,
        labels=booking.seat_labels,
        token=booking.hold_token,
        ttl_seconds=settings.HOLD_TTL_SECONDS,
        max_extensions=settings.HOLD_MAX_EXTENSIONS,
        owner=booking.hold_token if is_offer(booking) else hold_owner(booking.user_id),
    )


def highest_fence(*, showtime: Showtime) -> int:
    """The highest fence any hold of the showtime was given (the hold's floor after Redis lost
    its counter)."""
    return Booking.objects.filter(showtime=showtime).aggregate(top=Max("fence"))["top"] or 0


def end_booking(
    *, booking: Booking, status: str, kind: str, actor=None, reason: str, why: str = ""
) -> Booking:
    """End a PENDING booking (and record why); a booking in any other state is left as it is."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.PENDING:
            booking.status = status
            booking.save(update_fields=["status", "updated_at"])
            seat_changes.seats_freed(
                kind=kind,
                booking=booking,
                actor=actor,
                reason=reason,
                **({"staff_reason": why} if why else {}),
            )
            checkout.give_back_voucher(booking, reason=reason)
    return booking


def holds_its_seats(booking: Booking) -> bool:
    """Whether the booking's token still holds every one of its seats in Redis."""
    return holds.owns(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )
