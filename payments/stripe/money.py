"""Amounts as Stripe takes them: integers in the currency's smallest unit (pence, cents, yen).

Most currencies have two decimal places; Stripe's zero-decimal ones have none. Its three-decimal
ones (the last digit must be 0) are refused at start-up (config/settings.py), not half supported.
"""

import re
from decimal import Decimal

from payments.gateway import GatewayError

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = re.compile(r"BIF|CLP|DJF|GNF|JPY|KMF|KRW|MGA|PYG|RWF|UGX|VND|VUV|XAF|XOF|XPF")


def exponent(currency: str) -> int:
    return 0 if ZERO_DECIMAL.fullmatch(currency.upper()) else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's smallest unit; GatewayError if it does not divide exactly."""
    minor = Decimal(amount).scaleb(exponent(currency))
    if not minor.is_finite() or minor != minor.to_integral_value() or minor <= 0:
        raise GatewayError(f"{amount} {currency.upper()} is not an amount Stripe can charge.")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    places = exponent(currency)
    return Decimal(int(minor)).scaleb(-places).quantize(Decimal(1).scaleb(-places))
