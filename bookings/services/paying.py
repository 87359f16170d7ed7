"""Paying: recording a payment attempt before the gateway is asked, and what else the booking
pages ask the gateway or tell the audit trail about payments."""

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Kind
from bookings.errors import (
    BookingClosed,
    ExchangeEnded,
    HoldLost,
    PaymentFailed,
    PriceChanged,
    SalesEnded,
)
from bookings.models import Booking, Payment
from bookings.services import exchanging
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
            if booking.exchange_of_id is not None:
                exchanging.check_replaceable(booking)
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
    except ExchangeEnded:
        end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.SEATS_RELEASED,
            reason="exchange ended",
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
            metadata={"booking": booking.ref, "payment": str(payment.pk)},
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


class Return(StrEnum):
    """What a buyer back from the gateway's page is shown."""

    SETTLED = "settled"  # the booking is no longer pending: its tickets, or why not
    CONFIRMING = "confirming"  # paid at the gateway; its webhook has not settled it yet
    CHECKOUT = "checkout"  # came back without paying (or left the page): the checkout again


def payment_return(*, booking: Booking, payment: Payment | None, polling: bool) -> Return:
    """Where a buyer back from the gateway stands (it only reads). `payment` is the booking's
    open payment, read before the booking (a webhook settling it between the two reads then
    shows as a booking no longer pending, not as a payment gone). While the page polls, the
    gateway is not asked again."""
    if booking.status != Booking.Status.PENDING:
        return Return.SETTLED
    if payment is None or not (polling or gateway_says_paid(payment=payment)):
        return Return.CHECKOUT
    return Return.CONFIRMING


def open_payment(*, booking_ref: str, user) -> Payment | None:
    """The user's newest open payment for the booking `booking_ref`."""
    return (
        Payment.objects.filter(
            booking__ref=booking_ref, booking__user=user, status=Payment.Status.OPEN
        )
        .order_by("-created_at")
        .first()
    )
