"""How every page, email, PDF and staff screen writes a moment: in the cinema's time zone, a
24-hour clock, and the year only when it is not this year ("Wed 25 Nov, 19:30" this year,
"Fri 7 Jan 2028, 19:30" another)."""

from datetime import date, datetime

from django.utils import timezone
from django.utils.dateformat import format as format_date

SHORT_DAY, LONG_DAY = "D j M", "l j F"


def _local(moment: date | datetime) -> date | datetime:
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        return timezone.localtime(moment)
    return moment


def show_day(moment: date | datetime, *, long: bool = False) -> str:
    """The day alone: "Wed 25 Nov" (long: "Wednesday 25 November"), plus the year if not this."""
    local = _local(moment)
    text = format_date(local, LONG_DAY if long else SHORT_DAY)
    if local.year != timezone.localdate().year:
        text += f" {local.year}"
    return text


def show_when(moment: date | datetime | None, *, long: bool = False, seconds: bool = False) -> str:
    """The day and the time, "Wed 25 Nov, 19:30" (a date alone: the day); "" for nothing."""
    if moment is None or moment == "":
        return ""
    if not isinstance(moment, datetime):
        return show_day(moment, long=long)
    local = _local(moment)
    return f"{show_day(local, long=long)}, {format_date(local, 'H:i:s' if seconds else 'H:i')}"
