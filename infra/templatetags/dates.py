from django import template

from infra.dates import show_day, show_when

register = template.Library()


@register.filter
def when(moment) -> str:
    """A moment as "Wed 25 Nov, 19:30" in local time; the year only when it is not this year."""
    return show_when(moment)


@register.filter
def when_long(moment) -> str:
    """A moment as "Wednesday 25 November, 19:30"; the year only when it is not this year."""
    return show_when(moment, long=True)


@register.filter
def day_short(moment) -> str:
    """The day alone, "Wed 25 Nov" (the year only when it is not this year)."""
    return show_day(moment) if moment else ""


@register.filter
def day_long(moment) -> str:
    """The day alone, "Wednesday 25 November" (the year only when it is not this year)."""
    return show_day(moment, long=True) if moment else ""
