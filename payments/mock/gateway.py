"""The mock provider behind the `Gateway` interface: test mode, no money moves.

It behaves like a hosted-checkout provider in the ways the booking side must cope with: the
outcome arrives later by a signed webhook (maybe late, twice or out of order), requests are
idempotent by key, sessions expire, refunds never exceed the charge. Its ledger is its own tables
(`payments.mock.models`), standing in for the provider's database.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings

from infra.inputs import load_json
from payments import signing
from payments.gateway import (
    Event,
    EventType,
    GatewayError,
    Refund,
    Session,
    SessionStatus,
    checked_id,
    refuse_inside_transaction,
)
from payments.mock import services
from payments.mock.models import MockRefund, MockSession
from payments.mock.webhooks import SIGNATURE_HEADER

EVENT_TYPES = {event_type.value for event_type in EventType}


class MockGateway:
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
        metadata: Mapping[str, str] | None = None,  # the mock has no dashboard to show it in
    ) -> Session:
        refuse_inside_transaction()
        return _session(
            services.open_session(
                amount=amount,
                currency=currency,
                idempotency_key=idempotency_key,
                client_reference=client_reference,
                return_url=return_url,
                cancel_url=cancel_url,
                expires_at=expires_at,
            )
        )

    def parse_webhook(self, *, payload: bytes, headers: Mapping[str, str]) -> Event:
        # No transaction check here: this reads a request already received, it asks nothing of
        # the provider.
        header = next(
            (value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER.lower()),
            "",
        )
        signing.verify(
            payload=payload,
            header=header,
            secret=settings.PAYMENT_WEBHOOK_SECRET,
            tolerance_seconds=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            data = load_json(payload)
            event_type = data["type"]
        except (ValueError, TypeError, KeyError) as error:
            raise GatewayError("The webhook body is not an event.") from error
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            raise GatewayError(f"Unknown webhook event type: {event_type!r}.")
        try:
            return _event(data, EventType(event_type))
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as error:
            raise GatewayError("The webhook body is not an event.") from error

    def retrieve_session(self, *, session_id: str) -> Session:
        refuse_inside_transaction()
        return _session(services.find_session(session_id=session_id))

    def list_sessions(self, *, created_after: datetime) -> list[Session]:
        refuse_inside_transaction()
        return [
            _session(session, refunded=refunded)
            for session, refunded in services.sessions_created_after(created_after=created_after)
        ]

    def refund(
        self, *, session_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> Refund:
        refuse_inside_transaction()
        refund = services.refund_session(
            session_id=session_id, amount=amount, idempotency_key=idempotency_key, reason=reason
        )
        return _refund(refund)

    def expire_session(self, *, session_id: str) -> Session:
        """End an open session now (`session.expired`); the buyer can no longer pay on it.

        Beyond the `Gateway` interface: tests and ops use it to expire a session without waiting
        for its time."""
        refuse_inside_transaction()
        return _session(services.expire_session(session_id=session_id))


def _session(session: MockSession, *, refunded: Decimal | None = None) -> Session:
    return Session(
        id=session.id,
        url=services.checkout_path(session.id),
        status=SessionStatus(session.status),
        amount=session.amount,
        currency=session.currency,
        client_reference=session.client_reference,
        created_at=session.created_at,
        charge=session.charge,
        refunded=services.refunded_total(session) if refunded is None else refunded,
    )


def _refund(refund: MockRefund) -> Refund:
    return Refund(id=refund.id, session_id=refund.session_id, amount=refund.amount)


def _event(data: dict, event_type: EventType) -> Event:
    snapshot = data["data"]["session"]
    refund = data["data"].get("refund")
    charge = snapshot["charge"]
    return Event(
        id=checked_id(data["id"], "id"),
        type=event_type,
        session=Session(
            id=checked_id(snapshot["id"], "session"),
            url=snapshot["url"],
            status=SessionStatus(snapshot["status"]),
            amount=_decimal(snapshot["amount"]),
            currency=snapshot["currency"],
            client_reference=checked_id(snapshot["client_reference"], "client reference"),
            created_at=datetime.fromtimestamp(snapshot["created"], tz=UTC),
            charge=charge and checked_id(charge, "charge"),
            refunded=_decimal(snapshot["refunded"]),
        ),
        reason=str(data["data"].get("reason") or "")[:200],
        refund=Refund(
            id=checked_id(refund["id"], "refund"),
            session_id=checked_id(refund["session_id"], "refund's session"),
            amount=_decimal(refund["amount"]),
        )
        if refund
        else None,
    )


def _decimal(value: str) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"An amount must be a string, got {value!r}")
    return Decimal(value)
