"""The catalogue as plain data, for apps that hold only ids and may not import cinema."""

from collections.abc import Iterable

from cinema.models import Showtime


def showtime_facts(ids: Iterable[int]) -> dict[int, dict]:
    """Film title and start of each showtime that exists, in one query (`AUDIT_SHOWTIME_NAMES`)."""
    rows = Showtime.objects.filter(pk__in=list(ids)).values_list("pk", "movie__title", "starts_at")
    return {pk: {"movie": title, "starts_at": starts_at} for pk, title, starts_at in rows}
