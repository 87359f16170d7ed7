"""Paying: recording a payment attempt before the gateway is asked, and what else the booking
pages ask the gateway or tell the audit trail about payments."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Kind, record
from bookings.errors import BookingClosed, HoldLost, PaymentFailed, PriceChanged, SalesEnded
from bookings.models import Booking, Payment
from bookings.services.records import audit_booking, locked
from bookings.services.rules import check_sales_open, end_booking, extend_in_redis, holds_its_seats
from cinema.money import format_money
from payments.gateway import GatewayError, SessionStatus, get_gateway
from seats import holds

# How long the gateway's page takes a payment (real providers want at least 30 minutes). A payment
# that lands after the hold has run out is settled as a late payment.
PAYMENT_SESSION_LIFETIME = timedelta(minutes=30)


def start_payment(
    *, booking: Booking, return_url: str, cancel_url: str, expected: Decimal | None = None
) -> str:
    """Record a payment attempt and commit it, then open the gateway's page for it; returns where
    to send the buyer. Nothing is charged here: only the gateway's answer confirms the booking.

    `expected` is the total the buyer was shown: if the booking's is another (its tickets were
    changed in another window), nothing happens and they are told. A lost hold or ended sales
    end the booking instead, with nothing charged.
    """
    # A fresh hold period for the gateway's page, as far as the buyer's deadline allows. Best
    # effort: a payment that lands after the hold is settled as a late one. (Redis only: the
    # new expiry is written with the attempt, in its one transaction.)
    extended = extend_in_redis(booking)
    try:
        with transaction.atomic():
            booking = locked(booking)
            if booking.status != Booking.Status.PENDING:
                raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
            if expected is not None and expected != booking.amount:
                raise PriceChanged(
                    f"Your total is now {format_money(booking.amount)}, not "
                    f"{format_money(expected)}: your tickets were changed in another window. "
                    "Check them and pay again. Nothing was charged."
                )
            check_sales_open(booking.showtime)
            holding = extended.status == holds.ExtendStatus.OK or holds_its_seats(booking)
            if not holding:
                raise HoldLost(
                    "Your hold on these seats ran out before payment. Nothing was charged."
                )
            payment = Payment.objects.create(
                booking=booking, amount=booking.amount, currency=settings.CURRENCY
            )
            audit_booking(
                Kind.PAYMENT_STARTED,
                booking,
                actor=booking.user,
                payment=payment.pk,
                amount=str(payment.amount),
            )
            if extended.status == holds.ExtendStatus.OK:
                booking.expires_at = extended.expires_at
                booking.save(update_fields=["expires_at", "updated_at"])
                audit_booking(
                    Kind.HOLD_EXTENDED,
                    booking,
                    actor=booking.user,
                    expires_at=extended.expires_at.isoformat(),
                )
    except SalesEnded as ended:
        end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.SEATS_RELEASED,
            reason=ended.reason,
        )
        raise
    except HoldLost:
        end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.HOLD_EXPIRED,
            reason="hold lost before payment",
        )
        raise
    try:
        session = get_gateway().create_session(
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            client_reference=payment.idempotency_key,
            return_url=return_url,
            cancel_url=cancel_url,
            expires_at=timezone.now() + PAYMENT_SESSION_LIFETIME,
        )
    except GatewayError as error:
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.CREATED).update(
                status=Payment.Status.FAILED, updated_at=timezone.now()
            )
            audit_booking(
                Kind.PAYMENT_FAILED,
                booking,
                payment=payment.pk,
                reason="gateway unavailable",
                error=str(error)[:200],
            )
        raise PaymentFailed(
            "The payment provider could not be reached, so nothing was charged. "
            "Try again in a moment."
        ) from None
    Payment.objects.filter(pk=payment.pk, status=Payment.Status.CREATED).update(
        session_id=session.id, status=Payment.Status.OPEN, updated_at=timezone.now()
    )
    return session.url


def gateway_says_paid(*, payment: Payment) -> bool:
    """Whether the gateway has taken the money for this payment (a read: it settles nothing)."""
    try:
        session = get_gateway().retrieve_session(session_id=payment.session_id)
    except GatewayError:
        return False
    return session.status == SessionStatus.PAID


def reject_webhook(*, problem: str, address: str) -> None:
    """Audit a webhook that was refused (a forgery, a replay, or one for no payment of ours)."""
    with transaction.atomic():
        record(Kind.WEBHOOK_REJECTED, detail={"problem": problem[:200], "address": address})
