"""Settling what the gateway says: a verified webhook or a status query confirms the booking it
paid for (re-holding its seats when the hold ran out), or owes the money back; each payment and
each event is acted on once."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Kind, record
from bookings.errors import BadWebhook, BookingError, UnknownPayment
from bookings.models import Booking, Payment, Refund, WebhookEvent
from bookings.services import seat_changes, selling
from bookings.services.records import audit_booking, booking_facts, locked, money_facts
from bookings.services.refunds import send_refund
from bookings.services.rules import highest_fence, holds_its_seats, sales_ended
from payments.gateway import Event, EventType, GatewayError, Session, SessionStatus, get_gateway
from payments.gateway import Refund as GatewayRefund
from seats import holds

log = logging.getLogger(__name__)


class _Duplicate(Exception):
    """The event was acted on before (its row exists): nothing more to do."""


class _SeatsTaken(Exception):
    """The tickets' UNIQUE constraint refused a seat: the transaction is spoilt, so settle
    again in a fresh one, as a payment whose seats are gone."""


def receive_webhook(*, payload: bytes, headers, address: str) -> tuple[str, str]:
    """Verify a gateway's event and act on it once; returns its id and what happened. An event
    refused (a forgery, a replay past its time, one for no payment of ours) is audited with the
    sender's `address`, and raises BadWebhook or UnknownPayment."""
    try:
        event = get_gateway().parse_webhook(payload=payload, headers=headers)
    except GatewayError as error:
        reject_webhook(problem=str(error), address=address)
        raise BadWebhook(str(error)) from None
    try:
        return event.id, handle_payment_event(event=event)
    except BookingError as error:
        reject_webhook(problem=error.message, address=address)
        raise


def handle_payment_event(*, event: Event) -> str:
    """Act on a verified gateway event once: a second delivery of the same event changes nothing.
    Returns what happened, in a word or two, for the gateway's log and ours."""
    payment = _payment_for(event.session)
    try:
        outcome, refund = _settling(
            lambda seats_free: _act_on(event=event, payment=payment, seats_free=seats_free)
        )
    except _Duplicate:
        return "duplicate"
    if refund is not None:
        send_refund(refund=refund)
    return outcome


def _settling(act) -> tuple[str, "Refund | None"]:
    """Run `act(seats_free)` in one transaction; if a seat turned out to be sold, run it again
    in a new one knowing so (a savepoint on every sale would cost two more statements)."""
    try:
        with transaction.atomic():
            return act(True)
    except _SeatsTaken:
        with transaction.atomic():
            return act(False)


def _act_on(*, event: Event, payment: Payment, seats_free: bool) -> tuple[str, "Refund | None"]:
    try:
        WebhookEvent.objects.create(event_id=event.id, type=event.type)
    except IntegrityError:
        raise _Duplicate from None
    if event.type == EventType.PAYMENT_SUCCEEDED:
        return _settle_paid(payment=payment, session=event.session, seats_free=seats_free)
    if event.type == EventType.PAYMENT_FAILED:
        return _note_failed_attempt(payment=payment, reason=event.reason), None
    if event.type == EventType.SESSION_EXPIRED:
        return _close_unpaid(payment=payment), None
    return _note_refund_done(refund=event.refund), None


def sync_payment(*, payment: Payment) -> str:
    """Bring an unsettled payment in line with what the gateway says about it now: the status
    query that stands in for a webhook that never came. Returns what happened."""
    if payment.session_id is None:
        return "no session"
    try:
        session = get_gateway().retrieve_session(session_id=payment.session_id)
    except GatewayError as error:
        log.warning("payment %s: the gateway did not answer: %s", payment.pk, error)
        return "gateway unavailable"
    if session.status == SessionStatus.PAID:
        outcome, refund = _settling(
            lambda seats_free: _settle_paid(payment=payment, session=session, seats_free=seats_free)
        )
    elif session.status == SessionStatus.EXPIRED:
        with transaction.atomic():
            outcome, refund = _close_unpaid(payment=payment), None
    else:
        outcome, refund = "still open", None
    if refund is not None:
        send_refund(refund=refund)
    return outcome


def _payment_for(session: Session) -> Payment:
    """Our payment for a gateway session: by its id, or by the reference we gave the gateway
    (a crash may have kept us from storing the id)."""
    payment = (
        Payment.objects.filter(session_id=session.id).first()
        or Payment.objects.filter(idempotency_key=session.client_reference).first()
    )
    if payment is None:
        raise UnknownPayment(f"No payment here matches the gateway's session {session.id[:40]}.")
    return payment


def _settle_paid(
    *, payment: Payment, session: Session, seats_free: bool = True
) -> tuple[str, "Refund | None"]:
    """The gateway took the money: confirm the booking (re-holding its seats if its hold ran
    out), or, when that cannot be, owe the money back. Settles each payment once.
    `seats_free` False: an earlier try found a seat sold, so the money goes back."""
    booking = locked(Booking(pk=payment.booking_id))
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.SUCCEEDED:
        return "already settled", None
    payment.status = Payment.Status.SUCCEEDED
    payment.charge = session.charge
    payment.session_id = payment.session_id or session.id
    payment.save(update_fields=["status", "charge", "session_id", "updated_at"])
    problem = _why_not_confirm(booking=booking, payment=payment, paid=session.amount)
    if problem is None:
        problem = _confirm(booking=booking, payment=payment) if seats_free else SEATS_TAKEN
        if problem is None:
            return "confirmed", None
    refund = Refund.objects.create(payment=payment, amount=session.amount, reason=problem)
    # Only a booking that cannot have its seats ends here; one paid twice, or changed since this
    # attempt began, stays as it is (the current attempt may still pay for it).
    facts = {**booking_facts(booking), **money_facts(session.amount)}
    detail = {"reason": problem, "refunded": True, "payment": payment.pk, **facts}
    if booking.status == Booking.Status.PENDING and problem not in (PAID_TWICE, BOOKING_CHANGED):
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        seat_changes.seats_freed(kind=Kind.PAYMENT_REFUNDED, booking=booking, **detail)
    else:
        audit_booking(Kind.PAYMENT_REFUNDED, booking, **detail)
    return "refunded", refund


# Why a payment that went through cannot buy its booking; each sends the money back.
PAID_TWICE = "paid twice"
BOOKING_CANCELLED = "booking cancelled"
BOOKING_CHANGED = "booking changed"
SEATS_TAKEN = "seats taken"


def _why_not_confirm(*, booking: Booking, payment: Payment, paid) -> str | None:
    if booking.status == Booking.Status.CONFIRMED:
        return PAID_TWICE
    if booking.status == Booking.Status.CANCELLED:
        return BOOKING_CANCELLED
    if paid != payment.amount or payment.amount != booking.amount:
        return BOOKING_CHANGED
    return sales_ended(booking.showtime) or selling.why_not_replace(booking)


def _confirm(*, booking: Booking, payment: Payment) -> str | None:
    """Turn the booking's seats into tickets; None when done, else why not (nothing changed).
    A seat the tickets' UNIQUE constraint refuses raises _SeatsTaken (the transaction is spoilt).

    A booking whose hold ran out gets its seats back only if all of them are free: they are
    held again in one atomic step, and the tickets' UNIQUE constraint has the last word.
    """
    late = not holds_its_seats(booking)
    if late:
        result = holds.hold(
            showtime_id=booking.showtime_id,
            labels=booking.seat_labels,
            token=booking.hold_token,
            ttl_seconds=settings.HOLD_TTL_SECONDS,
            owner=selling.late_owner(booking),
            max_extensions=0,
            fence_floor=lambda: highest_fence(showtime=booking.showtime),
        )
        if not result.ok:
            return SEATS_TAKEN
        booking.fence = result.fence
    try:
        refunds = selling.sell_booking(
            booking=booking,
            payment_ref=payment.charge,
            actor=booking.user,
            **({"late": True} if late else {}),
        )
    except IntegrityError:
        if late:
            seat_changes.hold_undone(
                showtime=booking.showtime, labels=booking.seat_labels, token=booking.hold_token
            )
        raise _SeatsTaken from None
    for refund in refunds:
        transaction.on_commit(lambda refund=refund: send_refund(refund=refund), robust=True)
    return None


def _note_failed_attempt(*, payment: Payment, reason: str) -> str:
    """A card was refused on the gateway's page; the buyer may try again there."""
    if payment.status == Payment.Status.SUCCEEDED:
        return "stale"
    audit_booking(
        Kind.PAYMENT_FAILED,
        payment.booking,
        actor=payment.booking.user,
        payment=payment.pk,
        reason="declined",
        message=reason[:200],
    )
    return "failed attempt"


def _close_unpaid(*, payment: Payment) -> str:
    """The gateway's page closed without a payment; the booking's hold runs its own course."""
    closed = Payment.objects.filter(
        pk=payment.pk, status__in=[Payment.Status.CREATED, Payment.Status.OPEN]
    ).update(status=Payment.Status.FAILED, updated_at=timezone.now())
    if not closed:
        return "stale"
    audit_booking(Kind.PAYMENT_FAILED, payment.booking, payment=payment.pk, reason="page expired")
    return "closed"


def _note_refund_done(*, refund: GatewayRefund | None) -> str:
    if refund is None:
        return "ignored"
    done = Refund.objects.filter(reference=refund.id, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.SUCCEEDED, updated_at=timezone.now()
    )
    return "refund done" if done else "refund noted"


def close_unreached(*, payment: Payment) -> str:
    """Close an attempt that never reached the gateway (the process stopped before asking)."""
    with transaction.atomic():
        return _close_unpaid(payment=payment)


def reject_webhook(*, problem: str, address: str) -> None:
    """Audit a webhook that was refused (a forgery, a replay, or one for no payment of ours)."""
    with transaction.atomic():
        record(Kind.WEBHOOK_REJECTED, detail={"problem": problem[:200], "address": address})
