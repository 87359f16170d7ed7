"""Stripe behind the `Gateway` interface, through the official `stripe` library.

A session is a PaymentIntent, one per payment attempt, paid on our own checkout page with
Stripe.js (`payments.stripe.views`); Stripe's signed webhooks tell the outcome. PAID is
`succeeded`, EXPIRED is `canceled`, anything else is still OPEN.

Where Stripe differs from a hosted-checkout provider, this module makes up the difference:
- a PaymentIntent never expires by itself, so the session's end is kept in its metadata and the
  first status query past it cancels the intent (Stripe refuses to cancel one that succeeded:
  then it is paid, and the answer says so);
- Stripe keeps idempotency keys for 24 hours only, so a refund also carries its key in its
  metadata, and one sent again later (the sweeper, reconciliation) is found there, not made twice;
- listing: Stripe lists charges by creation time, and only charged intents hold money, so
  `list_sessions` lists charges with their intents (an intent never charged is asked about by
  itself when it matters).
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import stripe
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from infra.inputs import load_json
from payments.gateway import (
    BadSignature,
    Event,
    EventType,
    GatewayError,
    Refund,
    Session,
    SessionStatus,
    checked_id,
    refuse_inside_transaction,
)
from payments.stripe.money import from_minor, to_minor

SIGNATURE_HEADER = "Stripe-Signature"
# The events the webhook endpoint is subscribed to (README, "Going live with Stripe").
EVENTS = {
    "payment_intent.succeeded": EventType.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventType.PAYMENT_FAILED,
    "payment_intent.canceled": EventType.SESSION_EXPIRED,
}
# Statuses in which an intent may still be paid (or is being paid), and may be cancelled.
OPEN = frozenset(
    {
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
    }
)
CHECKOUT_SALT = "payments.stripe.checkout"
TIMEOUT_SECONDS = 20


class StripeGateway:
    def create_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        client_reference: str,
        return_url: str,
        cancel_url: str,
        expires_at: datetime,
        metadata: Mapping[str, str] | None = None,
    ) -> Session:
        refuse_inside_transaction()
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            # Cards, paid in our page: Stripe.js does 3-D Secure there, with no redirect away.
            "payment_method_types": ["card"],
            "metadata": {
                **(metadata or {}),
                "client_reference": client_reference,
                "expires_at": str(int(expires_at.timestamp())),
                "return_url": return_url,
                "cancel_url": cancel_url,
            },
        }
        options = {"idempotency_key": idempotency_key}
        return _session(_call(lambda c: c.v1.payment_intents.create(params, options)))

    def parse_webhook(self, *, payload: bytes, headers: Mapping[str, str]) -> Event:
        header = next(
            (value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER.lower()),
            "",
        )
        try:
            stripe.Webhook.construct_event(
                payload,
                header,
                settings.PAYMENT_WEBHOOK_SECRET,
                tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as error:
            raise BadSignature(f"The webhook signature does not verify: {error}") from None
        except ValueError as error:
            raise GatewayError("The webhook body is not an event.") from error
        data = load_json(payload)  # verified: now read as plain data
        event_type = EVENTS.get(data.get("type")) if isinstance(data, dict) else None
        if event_type is None:
            raise GatewayError(f"Unsubscribed webhook event type: {data.get('type')!r}.")
        try:
            intent = data["data"]["object"]
            if intent.get("object") != "payment_intent":
                raise GatewayError("The webhook's object is not a PaymentIntent.")
            error = intent.get("last_payment_error") or {}
            return Event(
                id=checked_id(data["id"], "id"),
                type=event_type,
                session=_session(intent),
                reason=str(error.get("message") or "")[:200]
                if event_type == EventType.PAYMENT_FAILED
                else "",
            )
        except (TypeError, KeyError, AttributeError, ArithmeticError, ValueError) as error:
            raise GatewayError("The webhook body is not an event.") from error

    def retrieve_session(self, *, session_id: str) -> Session:
        return _session(checkout_intent(session_id))

    def list_sessions(self, *, created_after: datetime) -> list[Session]:
        refuse_inside_transaction()
        params = {
            "created": {"gt": int(created_after.timestamp())},
            "limit": 100,
            "expand": ["data.payment_intent"],
        }
        sessions: dict[str, Session] = {}
        for charge in _call(lambda c: c.v1.charges.list(params).auto_paging_iter()):
            session = _charged_session(charge)
            known = sessions.get(session.id)
            if known is None or (session.charge and not known.charge):
                sessions[session.id] = session
        return sorted(sessions.values(), key=lambda session: (session.created_at, session.id))

    def refund(
        self, *, session_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> Refund:
        refuse_inside_transaction()
        intent = _retrieve(session_id)
        if intent["status"] != "succeeded":
            raise GatewayError(
                f"Payment {session_id} has no charge to refund: it is {intent['status']}."
            )
        minor = to_minor(amount, intent["currency"])
        earlier = _refund_with_key(session_id, idempotency_key)
        if earlier is not None:
            if earlier["amount"] != minor:
                raise GatewayError(
                    f"Refund key {idempotency_key} was used before for another amount."
                )
            return _refund(earlier, session_id)
        params = {
            "payment_intent": session_id,
            "amount": minor,
            # Stripe's own `reason` is one of three words; ours is for people.
            "metadata": {"idempotency_key": idempotency_key, "reason": reason[:500]},
        }
        options = {"idempotency_key": idempotency_key}
        refund = _call(lambda c: c.v1.refunds.create(params, options))
        if refund["status"] in {"failed", "canceled"}:
            raise GatewayError(
                f"Stripe did not refund {session_id}: the refund {refund['status']}."
            )
        return _refund(refund, session_id)


def checkout_intent(intent_id: str):
    """The PaymentIntent as Stripe has it now, cancelled first if its session has ended (so it
    can no longer be paid); for the checkout page and the status query."""
    refuse_inside_transaction()
    intent = _retrieve(intent_id)
    if intent["status"] in OPEN and _ended(intent):
        try:
            intent = _call(
                lambda c: c.v1.payment_intents.cancel(intent_id, {"expand": ["latest_charge"]})
            )
        except GatewayError:
            # Paid (or being paid) a moment ago: Stripe refused, and says what it is now.
            intent = _retrieve(intent_id)
    return intent


def checkout_path(intent_id: str) -> str:
    """Our checkout page for the intent; signed, as it shows the intent's client secret."""
    token = signing.Signer(salt=CHECKOUT_SALT).sign(intent_id)
    return reverse("stripe_gateway:checkout", args=[token])


def intent_of(token: str) -> str | None:
    """The intent id in a checkout page's token, or None when it was not made here."""
    try:
        return signing.Signer(salt=CHECKOUT_SALT).unsign(token)
    except signing.BadSignature:
        return None


def _ended(intent) -> bool:
    ends = (intent.get("metadata") or {}).get("expires_at", "")
    return ends.isdigit() and int(ends) <= timezone.now().timestamp()


def _retrieve(intent_id: str):
    params = {"expand": ["latest_charge"]}
    return _call(lambda c: c.v1.payment_intents.retrieve(intent_id, params))


def _refund_with_key(intent_id: str, key: str):
    """A refund of the intent made earlier with our key (found by its metadata), or None."""
    params = {"payment_intent": intent_id, "limit": 100}
    refunds = _call(lambda c: c.v1.refunds.list(params).auto_paging_iter())
    return next(
        (r for r in refunds if (r.get("metadata") or {}).get("idempotency_key") == key), None
    )


def _session(intent, *, charge=None) -> Session:
    """An intent as the interface's Session. `latest_charge` is an id unless it was expanded."""
    latest = intent.get("latest_charge")
    if charge is None and isinstance(latest, Mapping):
        charge = latest
    status = _status(intent["status"])
    currency = intent["currency"]
    reference = (intent.get("metadata") or {}).get("client_reference", "")
    charge_id = (charge or {}).get("id") or (latest if isinstance(latest, str) else "")
    return Session(
        id=checked_id(intent["id"], "payment intent"),
        url=checkout_path(intent["id"]),
        status=status,
        amount=from_minor(intent["amount"], currency),
        currency=currency.upper(),
        client_reference=reference and checked_id(reference, "client reference"),
        created_at=datetime.fromtimestamp(intent["created"], tz=UTC),
        charge=checked_id(charge_id, "charge") if status == SessionStatus.PAID else "",
        refunded=from_minor((charge or {}).get("amount_refunded") or 0, currency),
    )


def _charged_session(charge) -> Session:
    """The session a listed charge belongs to; a charge made without an intent stands alone."""
    intent = charge.get("payment_intent")
    if isinstance(intent, Mapping):
        succeeded = charge.get("status") == "succeeded"
        return _session(intent, charge=charge if succeeded else None)
    return Session(
        id=checked_id(charge["id"], "charge"),
        url="",
        status=SessionStatus.PAID if charge.get("paid") else SessionStatus.EXPIRED,
        amount=from_minor(charge["amount"], charge["currency"]),
        currency=charge["currency"].upper(),
        client_reference="",
        created_at=datetime.fromtimestamp(charge["created"], tz=UTC),
        charge=charge["id"] if charge.get("paid") else "",
        refunded=from_minor(charge.get("amount_refunded") or 0, charge["currency"]),
    )


def _status(stripe_status: str) -> SessionStatus:
    if stripe_status == "succeeded":
        return SessionStatus.PAID
    if stripe_status == "canceled":
        return SessionStatus.EXPIRED
    return SessionStatus.OPEN


def _refund(refund, intent_id: str) -> Refund:
    return Refund(
        id=checked_id(refund["id"], "refund"),
        session_id=intent_id,
        amount=from_minor(refund["amount"], refund["currency"]),
    )


def _call(request: Callable[[stripe.StripeClient], object]):
    """`request(client)` as plain data (a dict, or a list of them for a listing, every page
    read); anything Stripe refuses or cannot answer becomes GatewayError."""
    try:
        answer = request(_client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE))
        if isinstance(answer, stripe.StripeObject):
            return answer.to_dict()
        return [item.to_dict() for item in answer]
    except stripe.StripeError as error:
        message = getattr(error, "user_message", None) or str(error) or type(error).__name__
        raise GatewayError(f"Stripe: {message}"[:300]) from error


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    """One client per key and address: it keeps its connections open between calls."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        # Retries reuse the request's idempotency key (Stripe's library adds one where we did not).
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )
