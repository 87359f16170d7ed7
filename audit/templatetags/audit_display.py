from django import template

from audit import display

register = template.Library()


@register.filter
def when(moment) -> str:
    """A moment (aware, or ISO text) as local "Wed 25 Nov 19:30"."""
    return display.local_when(moment)


@register.filter
def detail_items(detail: dict) -> list[tuple[str, str]]:
    return display.detail_items(detail)
