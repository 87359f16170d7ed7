"""Amounts in the one currency the cinema sells in, as people read them."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from cinema.money import format_money


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [
        ("GBP", "12.5", "£12.50"),
        ("GBP", "1250", "£1,250.00"),
        ("EUR", "9.99", "€9.99"),
        ("usd", "0", "$0.00"),
        ("CHF", "12.5", "12.50 CHF"),
        ("GBP", "-3", "-£3.00"),
    ],
)
def test_amounts_are_shown_with_the_currency(currency, amount, shown):
    assert format_money(Decimal(amount), currency) == shown


def test_the_template_filter_uses_the_currency_setting(settings):
    settings.CURRENCY = "EUR"
    html = Template("{% load money %}{{ amount|money }}").render(
        Context({"amount": Decimal("8.5")})
    )
    assert html == "€8.50"
