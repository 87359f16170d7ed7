"""Amounts as people read them, in the one currency the cinema sells in (settings.CURRENCY)."""

from decimal import Decimal

from django.conf import settings

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(amount: Decimal | int | str, currency: str | None = None) -> str:
    """`£12.50`, `£1,250.00`; a currency without a symbol here after the figure: `12.50 CHF`."""
    currency = (currency or settings.CURRENCY).upper()
    figure = f"{Decimal(amount):,.2f}"
    if symbol := SYMBOLS.get(currency):
        return f"-{symbol}{figure[1:]}" if figure.startswith("-") else f"{symbol}{figure}"
    return f"{figure} {currency}"
