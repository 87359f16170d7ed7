"""Refunds and cancellations: a customer cancelling, staff ending a booking or a hold, tickets
refunded (recorded with the change, sent to the gateway after it), and refunds sent."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Kind, record_error
from bookings import checkout
from bookings.errors import BookingClosed, HoldLost, InvalidRequest
from bookings.models import Booking, Refund, Ticket, VoidTicket
from bookings.ratelimit import check_rate
from bookings.services import seat_changes, selling, transfers
from bookings.services.records import audit_booking, booking_facts, locked, money_facts
from bookings.services.rules import end_booking
from bookings.services.tickets import void_tickets
from cinema.models import Showtime
from cinema.money import format_money
from cinema.plans import get_plan
from payments.gateway import GatewayError, get_gateway
from seats import holds

log = logging.getLogger(__name__)


# A refund still owed this long after it was recorded, or last tried, is sent by the sweeper: its
# process died before asking the gateway, or the gateway did not answer. Fresher ones are left to
# the request that is sending them now.
OWED_REFUND_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class Refunded:
    """What giving back tickets' money did: one Refund per payment the money goes back to (more
    than one only after a dearer exchange), the main one first; its amount is all of them."""

    refunds: list[Refund]

    @property
    def amount(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0"))

    @property
    def seats(self) -> list[str]:
        return self.refunds[0].seats

    @property
    def status(self) -> str:
        """SUCCEEDED once the gateway has done every one of them, else REQUESTED."""
        done = all(refund.status == Refund.Status.SUCCEEDED for refund in self.refunds)
        return Refund.Status.SUCCEEDED if done else Refund.Status.REQUESTED


def send_owed_refunds(*, limit: int = 20) -> list[Refund]:
    """Send the refunds left owed past OWED_REFUND_GRACE, with their own idempotency keys; each
    is taken by one sweeper at a time and tried again at most once per grace. Returns the ones the
    gateway has done now."""
    due = timezone.now() - OWED_REFUND_GRACE
    owed = Refund.objects.filter(status=Refund.Status.REQUESTED, updated_at__lte=due)
    sent = []
    for pk in owed.order_by("created_at").values_list("pk", flat=True)[:limit]:
        # Taken by moving its time on: another sweeper's filter no longer matches it.
        if owed.filter(pk=pk).update(updated_at=timezone.now()):
            refund = send_refund(refund=Refund(pk=pk))
            if refund.status == Refund.Status.SUCCEEDED:
                sent.append(refund)
    return sent


def send_refund(*, refund: Refund) -> Refund:
    """Ask the gateway to pay back a recorded refund; safe to repeat, as its key never changes.
    A refund the gateway cannot do now stays REQUESTED, and reconciliation tries again."""
    refund = Refund.objects.select_related("payment__booking").get(pk=refund.pk)
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    payment = refund.payment
    try:
        done = get_gateway().refund(
            session_id=payment.session_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            reason=refund.reason,
        )
    except GatewayError as error:
        log.warning("refund %s not sent yet: %s", refund.pk, error)
        record_error("send_refund", error, refund=refund.pk, booking_ref=payment.booking.ref)
        return refund
    with transaction.atomic():
        sent = Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(
            status=Refund.Status.SUCCEEDED, reference=done.id, updated_at=timezone.now()
        )
        if sent:
            audit_booking(
                Kind.REFUND_SENT,
                payment.booking,
                seats=refund.seats,
                refund=refund.pk,
                reference=done.id,
                amount=str(refund.amount),
            )
    refund.refresh_from_db()
    return refund


def refunds_close_at(showtime: Showtime) -> datetime:
    """Until when a customer may cancel a paid booking of the showtime for a full refund."""
    return showtime.starts_at - timedelta(hours=settings.REFUND_CUTOFF_HOURS)


def cancel_booking(*, booking: Booking) -> Refunded | None:
    """The customer cancels: a PENDING hold is released; a CONFIRMED booking is refunded in full
    until REFUND_CUTOFF_HOURS before the show. Returns the refund when money goes back.

    Decided under the booking's lock: a payment landing at the same moment is either refunded
    with the booking, or finds the booking cancelled and is refunded by itself.
    """
    check_rate(user=booking.user, action="release")
    with transaction.atomic():
        booking = locked(booking)
        if booking.status == Booking.Status.PENDING:
            end_booking(
                booking=booking,
                status=Booking.Status.CANCELLED,
                kind=Kind.SEATS_RELEASED,
                actor=booking.user,
                reason="cancelled",
            )
            return None
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingClosed(f"This booking is already {booking.get_status_display().lower()}.")
    if timezone.now() >= refunds_close_at(booking.showtime):
        raise BookingClosed(
            f"Bookings can be cancelled up to {settings.REFUND_CUTOFF_HOURS} hours before the "
            "show. Ask at the box office."
        )
    return refund_tickets(
        booking=booking, actor=booking.user, reason="cancelled by customer", labels=kept(booking)
    )


def kept(booking: Booking) -> list[str] | None:
    """The seats whose tickets the buyer kept, the ones a buyer's own refund is for: None when
    none was passed on (all of them). Tickets passed on are their holder's now."""
    passed_on = set(
        booking.tickets.filter(transfer__isnull=False).values_list("seat__label", flat=True)
    )
    if not passed_on:
        return None
    labels = [label for label in booking.seat_labels if label not in passed_on]
    if not labels:
        raise BookingClosed("Every ticket of this booking was passed on: none is yours to cancel.")
    return labels


def staff_cancel(*, booking: Booking, actor, why: str = "") -> Booking:
    """Staff end a booking whatever its state: refund a CONFIRMED one, release a PENDING hold;
    `why` (the staff member's reason) goes on the audit event."""
    if booking.status == Booking.Status.CONFIRMED:
        refund_tickets(booking=booking, actor=actor, why=why, reason="refunded by staff")
        return Booking.objects.get(pk=booking.pk)
    ended = end_booking(
        booking=booking,
        status=Booking.Status.CANCELLED,
        kind=Kind.SEATS_RELEASED,
        actor=actor,
        reason="released by staff",
        why=why,
    )
    if ended.status != Booking.Status.CANCELLED:
        raise BookingClosed(f"This booking is already {ended.get_status_display().lower()}.")
    return ended


def staff_release_hold(*, showtime: Showtime, token: str, actor) -> list[str]:
    """Staff free one hold: its PENDING booking is cancelled; a hold with no booking is dropped."""
    booking = Booking.objects.filter(
        showtime=showtime, hold_token=token, status=Booking.Status.PENDING
    ).first()
    if booking is not None:
        return staff_cancel(booking=booking, actor=actor).seat_labels
    plan = get_plan(showtime.auditorium)
    held = holds.held_labels(showtime_id=showtime.pk, labels=list(plan.seats_by_label))
    labels = sorted(label for label, holder in held.items() if holder == token)
    if not labels:
        raise HoldLost("That hold has already ended.")
    with transaction.atomic():
        seat_changes.seats_freed(
            kind=Kind.SEATS_RELEASED,
            showtime=showtime,
            labels=labels,
            token=token,
            actor=actor,
            reason="released by staff",
            orphan=True,
        )
    return labels


def refund_tickets(
    *,
    booking: Booking,
    actor,
    reason: str,
    labels: list[str] | None = None,
    amount: Decimal | None = None,
    why: str = "",
) -> Refunded:
    """Refund tickets of a CONFIRMED booking (all by default) for what was paid for them, or
    for `amount` when staff give back less; their seats are freed live. The refund is recorded
    with the change, and the gateway asked once it has committed. Whoever holds a ticket, the
    money goes back to the payment that bought it; a buyer may not refund tickets passed on."""
    with transaction.atomic():
        refunds = record_refund(
            booking=booking, actor=actor, reason=reason, labels=labels, amount=amount, why=why
        )
    return Refunded([send_refund(refund=refund) for refund in refunds])


def record_refund(
    *,
    booking: Booking,
    actor,
    reason: str,
    labels: list[str] | None = None,
    amount: Decimal | None = None,
    why: str = "",
    passed_on_too: bool = False,
) -> list[Refund]:
    """`refund_tickets` up to the gateway, in the caller's transaction (which must be one): the
    refunds, one per payment the money goes back to (the first the main one), which the caller
    sends (`send_refund`) once that has committed. The buyer refunds tickets they passed on only
    with `passed_on_too` (their showtime is cancelled: nobody can use them)."""
    booking = locked(booking)
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
    tickets = {ticket.seat.label: ticket for ticket in booking.tickets.select_related("seat")}
    labels = list(tickets) if labels is None else _refundable(booking, tickets, labels)
    passed_on = [label for label in labels if tickets[label].transfer_id is not None]
    if passed_on and actor is not None and actor.pk == booking.user_id and not passed_on_too:
        raise BookingClosed(
            f"{', '.join(passed_on)} passed on to someone else: no longer yours to refund."
        )
    payments = selling.paid_with(booking)
    if not payments:
        raise BookingClosed("This booking has no payment to refund; ask the payments team.")
    left = selling.refundable(payments)
    due = sum((tickets[label].price for label in labels), Decimal("0"))
    amount = due if amount is None else amount
    if amount <= 0:
        raise InvalidRequest("A refund must be for more than nothing.")
    if amount > min(due, left):
        raise InvalidRequest(
            f"That is more than was paid: at most {format_money(min(due, left))} can be "
            f"refunded for {', '.join(labels)}."
        )
    # One refund per payment it comes from: more than one only after a dearer exchange.
    refunds = selling.owe_back(
        booking=booking, amount=amount, seats=labels, reason=reason, why=why, actor=actor
    )
    refund, *others = refunds
    transfers.tell_receivers_of_refund(booking, [tickets[label] for label in labels], actor=actor)
    void_tickets(booking, [tickets[label] for label in labels], reason=VoidTicket.Reason.REFUNDED)
    Ticket.objects.filter(pk__in=[tickets[label].pk for label in labels]).delete()
    kept = [label for label in booking.seat_labels if label in tickets and label not in labels]
    if kept:
        booking.seat_labels = kept
    else:
        booking.status = Booking.Status.CANCELLED
        checkout.give_back_voucher(booking, reason=reason)
    booking.save(update_fields=["seat_labels", "status", "updated_at"])
    seat_changes.seats_freed(
        kind=Kind.SEATS_RELEASED,
        booking=booking,
        labels=labels,
        actor=actor,
        reason="refunded",
        refunded=True,
        refund=refund.pk,
        **({"also_refunds": [other.pk for other in others]} if others else {}),
        **({"partial": True} if kept else {}),
        **({"staff_reason": why} if why else {}),
        by_staff=actor is not None and actor.pk != booking.user_id,
        **{**booking_facts(booking), **money_facts(amount)},
    )
    return refunds


def _refundable(booking: Booking, tickets: dict[str, Ticket], labels: list[str]) -> list[str]:
    """The asked-for seats, each a ticket of the booking that has not been refunded yet."""
    labels = [label.strip().upper() for label in labels]
    if not labels:
        raise InvalidRequest("Choose at least one ticket to refund.")
    if len(set(labels)) != len(labels):
        raise InvalidRequest("A ticket is listed more than once.")
    refunded = {
        label
        for seats in Refund.objects.filter(payment__booking=booking).values_list("seats", flat=True)
        for label in seats
    }
    for label in labels:
        if label not in tickets and label in refunded:
            raise BookingClosed(f"The ticket for {label} has already been refunded.")
        if label not in tickets:
            raise InvalidRequest(f"{label[:8]} is not a seat of this booking.")
    return labels
