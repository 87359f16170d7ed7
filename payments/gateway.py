"""The payment gateway interface: what the booking side may ask of any provider.

Shaped like the hosted-checkout gateways (Stripe Checkout, Adyen, Mollie): the buyer pays on the
provider's page, the outcome arrives later by a signed webhook, and the provider can be asked for
a session's state, list its sessions, and refund. A provider is one class implementing `Gateway`,
named by the `PAYMENT_GATEWAY` setting. Nothing here knows about bookings.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string


class SessionStatus(StrEnum):
    OPEN = "open"  # the buyer may still pay on the hosted page
    PAID = "paid"  # the charge went through: `charge` names it
    EXPIRED = "expired"  # closed without a charge; it can no longer be paid


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"  # one attempt on the page failed; the session stays open
    SESSION_EXPIRED = "session.expired"
    REFUND_SUCCEEDED = "refund.succeeded"


@dataclass(frozen=True)
class Session:
    id: str
    url: str  # where to send the buyer
    status: SessionStatus
    amount: Decimal
    currency: str
    client_reference: str  # ours, given at creation: finds the session when we lost its id
    created_at: datetime
    charge: str = ""  # the provider's reference of the charge, once paid
    refunded: Decimal = Decimal("0")  # how much of the charge has gone back


@dataclass(frozen=True)
class Refund:
    id: str
    session_id: str
    amount: Decimal


@dataclass(frozen=True)
class Event:
    """One webhook delivery, verified. `id` is the provider's event id: the same event delivered
    twice carries the same id."""

    id: str
    type: EventType
    session: Session
    reason: str = ""  # why an attempt failed, in the provider's words for the buyer
    refund: Refund | None = None


class GatewayError(Exception):
    """The provider refused or could not be reached; the message is safe to show to staff."""


class BadSignature(GatewayError):
    """A webhook whose signature is missing, wrong or too old: it did not come from the provider."""


# A provider's identifier (an event, a session, a charge, a refund): printable ASCII without
# spaces, at most as long as we store it (Booking.payment_ref keeps a charge in 64).
PROVIDER_ID = re.compile(r"[!-~]{1,64}")


def checked_id(value, what: str) -> str:
    """`value` when it is a provider's identifier; else GatewayError naming `what`."""
    if isinstance(value, str) and PROVIDER_ID.fullmatch(value):
        return value
    raise GatewayError(f"The event's {what} is not an identifier.")


class Gateway(Protocol):
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
        """A payment page for `amount`; the same key again returns the same session. `metadata`
        (short strings: the booking's ref, our payment's id) is shown to staff in the provider's
        dashboard; a provider without such a field ignores it."""

    def parse_webhook(self, *, payload: bytes, headers: Mapping[str, str]) -> Event:
        """The verified event in a webhook request, or BadSignature (or GatewayError if the
        signed body is not an event)."""

    def retrieve_session(self, *, session_id: str) -> Session:
        """The session as the provider has it now (GatewayError if it has no such session)."""

    def list_sessions(self, *, created_after: datetime) -> list[Session]:
        """The sessions created after the time, oldest first: at least every one that took money
        (a provider may leave out the ones never charged; reconciliation asks about those one by
        one)."""

    def refund(
        self, *, session_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> Refund:
        """Give back `amount` of a paid session, once per key; GatewayError if it is more than
        what is left of the charge or the session was never paid."""


INSIDE_TRANSACTION = (
    "The payment gateway was called inside a database transaction: commit the payment record first."
)


def refuse_inside_transaction() -> None:
    """A payment is a record before it is a call: the caller's record must be committed first.
    Every provider calls this before it asks anything of its provider.

    The per-test transactions of Django's TestCase (and pytest-django's `db`) do not count."""
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise RuntimeError(INSIDE_TRANSACTION)


def get_gateway() -> Gateway:
    return import_string(settings.PAYMENT_GATEWAY)()
