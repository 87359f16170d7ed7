"""What the mock provider does to its ledger.

Each write is one transaction of its own, as in the provider's database, that also records the
webhook events it causes; they go out after commit (`payments.mock.webhooks`). A session row is
locked before it changes, so a page posted twice, or a refund racing another, changes it once.
"""

import json
import re
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from payments.gateway import EventType, GatewayError, SessionStatus
from payments.mock import webhooks
from payments.mock.models import MockRefund, MockSession, MockWebhook, new_charge_id, new_event_id

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999.99")  # what Decimal(9, 2) holds
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def display_amount(amount: Decimal, currency: str) -> str:
    """`£12.50`, or `12.50 CHF` for a currency without a symbol here."""
    if symbol := SYMBOLS.get(currency):
        return f"{symbol}{amount:,.2f}"
    return f"{amount:,.2f} {currency}"


def checkout_path(session_id: str) -> str:
    return reverse("mock_gateway:checkout", args=[session_id])


def refunded_total(session: MockSession) -> Decimal:
    return as_money(session.refunds.aggregate(total=Sum("amount"))["total"])


def sessions_created_after(*, created_after: datetime) -> list[tuple[MockSession, Decimal]]:
    """Sessions created after the time, oldest first, as of now, each with its refunded total."""
    sessions = (
        MockSession.objects.filter(created_at__gt=created_after)
        .annotate(refunded=Sum("refunds__amount"))
        .order_by("created_at", "id")
    )
    return [(expire_if_due(session), as_money(session.refunded)) for session in sessions]


def as_money(amount) -> Decimal:
    return Decimal(amount or 0).quantize(CENT)


def open_session(
    *,
    amount: Decimal,
    currency: str,
    idempotency_key: str,
    client_reference: str,
    return_url: str,
    cancel_url: str,
    expires_at: datetime,
) -> MockSession:
    """A new open session, or the one this key made before (GatewayError if its parameters
    differ)."""
    amount = _checked_amount(amount, what="Amount")
    currency = currency.upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise GatewayError(f"Invalid currency: {currency!r}.")
    asked = {"amount": amount, "currency": currency, "client_reference": client_reference}
    # get_or_create also settles the same key arriving twice at once (the UNIQUE key decides).
    session, _ = MockSession.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            **asked,
            "return_url": return_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
        },
    )
    made = {
        "amount": session.amount,
        "currency": session.currency,
        "client_reference": session.client_reference,
    }
    if made != asked:
        raise GatewayError(_reused_key(idempotency_key))
    return session


def find_session(*, session_id: str) -> MockSession:
    """The session, as of now: GatewayError if the provider has none by that id."""
    try:
        session = MockSession.objects.get(pk=session_id)
    except MockSession.DoesNotExist:
        raise GatewayError(f"No such checkout session: {session_id!r}.") from None
    return expire_if_due(session)


def expire_if_due(session: MockSession) -> MockSession:
    """`session`, expired (once, with its event) if it is still open past its expiry."""
    if session.status != SessionStatus.OPEN or session.expires_at > timezone.now():
        return session
    with transaction.atomic():
        locked = _locked(session.pk)
        if locked.status == SessionStatus.OPEN and locked.expires_at <= timezone.now():
            _expire(locked)
    session.status, session.charge = locked.status, locked.charge
    return session


def expire_session(*, session_id: str) -> MockSession:
    """End an open session now, as the provider's "expire session" call does; an expired one
    stays as it is, a paid one cannot be expired (GatewayError)."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.status == SessionStatus.PAID:
            raise GatewayError("Only an open checkout session can be expired; this one is paid.")
        if session.status == SessionStatus.OPEN:
            _expire(session)
    return session


def pay_session(*, session_id: str, origin: str = "") -> MockSession:
    """Charge an open session once (`payment.succeeded`); a paid or expired session comes back
    as it is."""
    with transaction.atomic():
        session = _locked(session_id)
        if _closed_by_time(session):
            return session
        if session.status == SessionStatus.OPEN:
            session.status = SessionStatus.PAID
            session.charge = new_charge_id()
            session.origin = origin or session.origin
            session.save(update_fields=["status", "charge", "origin"])
            _record(session, EventType.PAYMENT_SUCCEEDED)
    return session


def fail_payment(*, session_id: str, reason: str, origin: str = "") -> MockSession:
    """Record a refused attempt on an open session (`payment.failed`); it stays open for
    another try. A paid or expired session comes back as it is."""
    with transaction.atomic():
        session = _locked(session_id)
        if _closed_by_time(session):
            return session
        if session.status == SessionStatus.OPEN:
            if origin and origin != session.origin:
                session.origin = origin
                session.save(update_fields=["origin"])
            _record(session, EventType.PAYMENT_FAILED, reason=reason)
    return session


def refund_session(
    *, session_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
) -> MockRefund:
    """Give back `amount` of a paid session's charge, once per key; never more than is left."""
    amount = _checked_amount(amount, what="Refund amount")
    try:
        with transaction.atomic():
            # The lock makes refunds of one session take turns: each sees what the last gave.
            session = _locked(session_id)
            if earlier := MockRefund.objects.filter(idempotency_key=idempotency_key).first():
                return _same_refund(earlier, session_id=session_id, amount=amount, reason=reason)
            if session.status != SessionStatus.PAID:
                raise GatewayError(
                    f"Checkout session {session_id} has no charge to refund: it is "
                    f"{session.status}, not paid."
                )
            left = session.amount - refunded_total(session)
            if amount > left:
                raise GatewayError(
                    f"Refund amount ({display_amount(amount, session.currency)}) is greater than "
                    f"the unrefunded amount ({display_amount(left, session.currency)})."
                )
            refund = MockRefund.objects.create(
                session=session, amount=amount, idempotency_key=idempotency_key, reason=reason
            )
            _record(session, EventType.REFUND_SUCCEEDED, refund=refund)
            return refund
    except IntegrityError:
        # The same key raced in for another session; refunds of one session are serialised.
        earlier = MockRefund.objects.get(idempotency_key=idempotency_key)
        return _same_refund(earlier, session_id=session_id, amount=amount, reason=reason)


def _checked_amount(amount: Decimal, *, what: str) -> Decimal:
    amount = Decimal(amount)
    if not amount.is_finite() or amount <= 0:
        raise GatewayError(f"{what} must be greater than zero.")
    if amount != amount.quantize(CENT) or amount > MAX_AMOUNT:
        raise GatewayError(f"{what} must have at most two decimal places and be under 10 million.")
    return amount.quantize(CENT)


def _reused_key(key: str) -> str:
    return (
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request."
    )


def _same_refund(
    refund: MockRefund, *, session_id: str, amount: Decimal, reason: str
) -> MockRefund:
    if (refund.session_id, refund.amount, refund.reason) != (session_id, amount, reason):
        raise GatewayError(_reused_key(refund.idempotency_key))
    return refund


def _locked(session_id: str) -> MockSession:
    try:
        return MockSession.objects.select_for_update().get(pk=session_id)
    except MockSession.DoesNotExist:
        raise GatewayError(f"No such checkout session: {session_id!r}.") from None


def _closed_by_time(session: MockSession) -> bool:
    """True (after expiring it) when a locked open session is past its expiry."""
    if session.status == SessionStatus.OPEN and session.expires_at <= timezone.now():
        _expire(session)
        return True
    return False


def _expire(session: MockSession) -> None:
    session.status = SessionStatus.EXPIRED
    session.save(update_fields=["status"])
    _record(session, EventType.SESSION_EXPIRED)


def _record(
    session: MockSession,
    event_type: EventType,
    *,
    reason: str = "",
    refund: MockRefund | None = None,
) -> None:
    """Put an event in the outbox, with the session as it is now; it is sent after commit."""
    event_id = new_event_id()
    body = {
        "id": event_id,
        "type": event_type.value,
        "created": int(timezone.now().timestamp()),
        "data": {
            "session": {
                "id": session.id,
                "url": checkout_path(session.id),
                "status": session.status,
                "amount": str(session.amount),
                "currency": session.currency,
                "client_reference": session.client_reference,
                "created": int(session.created_at.timestamp()),
                "charge": session.charge,
                "refunded": str(refunded_total(session)),
            },
            "reason": reason,
            "refund": {
                "id": refund.id,
                "session_id": session.id,
                "amount": str(refund.amount),
            }
            if refund
            else None,
        },
    }
    MockWebhook.objects.create(
        id=event_id, session=session, type=event_type, body=json.dumps(body, sort_keys=True)
    )
    webhooks.send_after_commit(session)
