"""Payment gateways. The mock is what runs here; a real one implements the same two calls."""

import hashlib
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DECLINED_CARD = "4000000000000002"


class PaymentDeclined(Exception):
    """The gateway refused the charge; nothing was taken."""


class Gateway(Protocol):
    def charge(self, *, amount: Decimal, idempotency_key: str, card: str = "") -> str:
        """Take the amount once per idempotency key; return the payment reference."""

    def refund(self, *, payment_ref: str, amount: Decimal, idempotency_key: str) -> str:
        """Give the amount back once per idempotency key; return the refund reference."""


class MockGateway:
    """Accepts every card but the well-known test decline; the same key gives the same ref."""

    def charge(self, *, amount: Decimal, idempotency_key: str, card: str = "") -> str:
        if card.replace(" ", "") == DECLINED_CARD:
            raise PaymentDeclined("Your card was declined. Try another card.")
        return "pay_" + _digest("charge", idempotency_key)

    def refund(self, *, payment_ref: str, amount: Decimal, idempotency_key: str) -> str:
        return "ref_" + _digest("refund", idempotency_key, payment_ref)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def get_gateway() -> Gateway:
    return import_string(settings.PAYMENT_GATEWAY)()
