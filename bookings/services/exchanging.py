"""Exchanging: a customer moves a paid booking, all its tickets, to other seats of its showtime
or to another showtime of the same film, until the refund cut-off.

1. `start_exchange` holds the new seats as a PENDING booking that names the one it replaces
   (`Booking.exchange_of`), with every rule of any hold; its amount is the difference to pay.
   The paid booking is untouched, and a hold that is never confirmed expires like any other.
2. Dearer: the difference is paid like any booking (paying.start_payment records the attempt
   before the gateway is asked) and the gateway's answer completes the exchange (settling).
   The same price or cheaper: `confirm_exchange` completes it at once.
3. Completing is one transaction (selling.sell_booking): the new tickets written, the old ones
   voided and their seats freed, what the old booking paid beyond the new tickets owed back.
   The refund is sent after the commit, and by the sweeper if the process dies before.
So at every point the customer has either the old booking or the new one, and what they paid
matches it once the sweeper and reconciliation have run.
"""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Kind
from bookings.errors import (
    BookingClosed,
    ExchangeEnded,
    HoldLost,
    InvalidRequest,
    SalesEnded,
    SeatsUnavailable,
)
from bookings.models import Booking
from bookings.services import selling
from bookings.services.holding import hold_seats
from bookings.services.records import audit_booking, locked
from bookings.services.refunds import refunds_close_at, send_refund
from bookings.services.rules import check_sales_open, end_booking, holds_its_seats
from cinema.models import Showtime


def check_exchangeable(booking: Booking) -> None:
    """A booking can be exchanged while it is paid, until the refund cut-off of its showtime,
    when no access device is lent with it (those are the box office's to move) and none of its
    tickets was passed on (those are their holder's)."""
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingClosed(
            f"This booking is {booking.get_status_display().lower()}: only a paid booking can "
            "be changed."
        )
    if timezone.now() >= refunds_close_at(booking.showtime):
        raise BookingClosed(
            f"Bookings can be changed up to {settings.REFUND_CUTOFF_HOURS} hours before the "
            "show. Ask at the box office."
        )
    if booking.devices.exists():
        raise BookingClosed(
            "Access devices are lent with this booking: ask the box office to change it."
        )
    if booking.tickets.filter(transfer__isnull=False).exists():
        raise BookingClosed(
            "Some of these tickets were passed on to someone else: they are theirs now, so this "
            "booking cannot be changed online. Ask at the box office."
        )


def exchange_showtimes(*, booking: Booking) -> list[Showtime]:
    """The showtimes the booking may move to: its film's, on sale and not started, its own
    included (for other seats)."""
    return [
        showtime
        for showtime in Showtime.objects.filter(
            movie_id=booking.showtime.movie_id, on_sale=True, starts_at__gt=timezone.now()
        )
        .select_related("auditorium", "movie")
        .order_by("starts_at")
        if not showtime.sale_opens_later
    ]


def start_exchange(
    *, booking: Booking, user, showtime: Showtime, labels: list[str], admission: str = ""
) -> Booking:
    """Hold `labels` of `showtime` for moving the user's paid `booking` there: a PENDING
    booking that replaces it once confirmed (its amount the difference to pay). The paid
    booking does not change; the user's open hold for `showtime`, if any, is replaced."""
    if booking.user_id != user.pk:
        raise InvalidRequest("That is not one of your bookings.")
    check_exchangeable(booking)
    if showtime.movie_id != booking.showtime.movie_id:
        raise InvalidRequest("A booking can move only to another showtime of the same film.")
    labels = [label.strip().upper() for label in labels]
    count = len(booking.seat_labels)
    if len(labels) != count:
        raise InvalidRequest(
            f"Pick {count} seat{'s' if count > 1 else ''}: an exchange moves every ticket of "
            "the booking."
        )
    kept = sorted(set(labels) & set(booking.seat_labels)) if showtime == booking.showtime else []
    if kept:
        raise SeatsUnavailable(
            f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} already yours: pick seats "
            "you do not have yet.",
            conflicts=kept,
        )
    held = hold_seats(
        user=user, showtime=showtime, labels=labels, admission=admission, exchanging=booking
    )
    with transaction.atomic():
        audit_booking(
            Kind.EXCHANGE_STARTED,
            booking,
            actor=user,
            to=held.ref,
            to_showtime=showtime.pk,
            to_seats=held.seat_labels,
            difference=str(exchange_difference(held)),
        )
    return held


def exchange_difference(booking: Booking) -> Decimal:
    """What an exchange's booking costs more (positive) or less (negative) than the booking it
    replaces."""
    return selling.paid_for(booking) - selling.paid_for(booking.exchange_of)


def confirm_exchange(*, booking: Booking) -> Booking:
    """Complete an exchange that costs nothing more, all or nothing: the new tickets issued,
    the old ones void, the seats moved live, and the difference owed back (sent now, or by the
    sweeper). A hold that ran out, or sales that ended, end the exchange with nothing changed."""
    try:
        with transaction.atomic():
            booking = locked(booking)
            if booking.exchange_of_id is None or booking.status != Booking.Status.PENDING:
                raise BookingClosed(
                    f"This booking is {booking.get_status_display().lower()}: there is no "
                    "exchange to confirm."
                )
            if booking.amount:
                raise InvalidRequest("The new seats cost more: pay the difference to confirm.")
            check_sales_open(booking.showtime)
            if not holds_its_seats(booking):
                raise HoldLost(
                    "Your hold on the new seats ran out, so nothing changed: your booking is as "
                    "it was. Pick new seats again."
                )
            check_replaceable(booking)
            refunds = selling.sell_booking(booking=booking, payment_ref="", actor=booking.user)
    except SalesEnded as ended:
        _end(booking, reason=ended.reason, kind=Kind.SEATS_RELEASED)
        raise
    except HoldLost:
        _end(booking, reason="hold lost before the exchange", kind=Kind.HOLD_EXPIRED)
        raise
    except ExchangeEnded:
        _end(booking, reason="exchange ended", kind=Kind.SEATS_RELEASED)
        raise
    except IntegrityError:
        raise SeatsUnavailable(
            "One of the new seats was just sold, so nothing changed.", conflicts=[]
        ) from None
    for refund in refunds:
        send_refund(refund=refund)
    return booking


def check_replaceable(booking: Booking) -> None:
    """The booking an exchange replaces is still paid and unchanged, and before its cut-off
    (in the caller's transaction: it stays locked); otherwise the exchange ends."""
    try:
        if selling.why_not_replace(booking) is not None:
            raise BookingClosed(
                "The booking you are changing was cancelled or changed meanwhile, so this "
                "exchange has ended. Nothing was charged."
            )
        check_exchangeable(booking.exchange_of)
    except BookingClosed as closed:
        raise ExchangeEnded(closed.message) from None


def _end(booking: Booking, *, reason: str, kind: str) -> None:
    end_booking(
        booking=booking, status=Booking.Status.EXPIRED, kind=kind, actor=booking.user, reason=reason
    )
