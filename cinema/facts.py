"""The catalogue as plain data, for apps that hold only ids and may not import cinema."""

from collections.abc import Iterable

from django.urls import reverse

from cinema.models import Showtime
from cinema.selectors import current_venue


def showtime_facts(ids: Iterable[int]) -> dict[int, dict]:
    """Film title and start of each showtime that exists, in one query (`AUDIT_SHOWTIME_NAMES`)."""
    rows = Showtime.objects.filter(pk__in=list(ids)).values_list("pk", "movie__title", "starts_at")
    return {pk: {"movie": title, "starts_at": starts_at} for pk, title, starts_at in rows}


def venue_facts() -> dict:
    """The cinema's address on one line and its page's path, as the emails say where to come
    (`EMAIL_VENUE`): read when an email is written, so it is the address of the day."""
    return {"address": current_venue().address_line, "path": reverse("cinema:venue")}
