from django import template

from cinema.money import format_money

register = template.Library()


@register.filter
def money(amount) -> str:
    """`{{ booking.amount|money }}`: the amount in settings.CURRENCY, e.g. `£12.50`."""
    if amount is None or amount == "":
        return ""
    return format_money(amount)
