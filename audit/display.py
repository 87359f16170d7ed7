"""How staff pages show events: films and times by name, moments in local time.

The trail stores showtime ids only (audit imports no other app), so names are resolved when a
page renders, through `AUDIT_SHOWTIME_NAMES`: a dotted path to a callable the catalogue
provides, taking showtime ids and returning `{id: {"movie": title, "starts_at": datetime}}` in
one query. Resolving late keeps old events readable and shows a retitled film by its new name.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from infra.dates import show_when

# Detail keys that hold ISO timestamps.
MOMENT_KEYS = frozenset({"expires_at", "starts_at"})
# Detail keys not shown on staff pages (the buyer's email stays on the event, off the screen).
HIDDEN_KEYS = frozenset({"email"})


def local_when(moment: datetime | str | None) -> str:
    """`moment` (aware, or an ISO string) as local "Wed 25 Nov, 19:30" (infra.dates); "" for
    nothing."""
    if isinstance(moment, str):
        try:
            moment = parse_datetime(moment)
        except ValueError:
            moment = None
    if moment is None:
        return ""
    return show_when(moment)


@cache
def _lookup():
    path = getattr(settings, "AUDIT_SHOWTIME_NAMES", "")
    return import_string(path) if path else None


def showtime_names(ids: Iterable[int]) -> dict[int, str]:
    """ "Film, Wed 25 Nov 19:30" for each showtime id that still exists (one lookup for all)."""
    wanted = {showtime_id for showtime_id in ids if showtime_id is not None}
    lookup = _lookup()
    if not wanted or lookup is None:
        return {}
    return {
        showtime_id: f"{facts['movie']}, {local_when(facts['starts_at'])}"
        for showtime_id, facts in lookup(wanted).items()
    }


def name_showtimes(events: Iterable) -> list:
    """The events with `event.showtime_name` filled in for all of them by one lookup (a page of
    rows asks once; an event asked alone looks itself up)."""
    events = list(events)
    names = showtime_names(event.showtime_id for event in events)
    for event in events:
        event.showtime_name = name_of(event.showtime_id, names)
    return events


def name_of(showtime_id: int | None, names: dict[int, str]) -> str:
    """The showtime's name from `names`, or its id if it is gone; "" for no showtime."""
    if showtime_id is None:
        return ""
    return names.get(showtime_id) or f"showtime {showtime_id}"


def detail_items(detail: dict) -> list[tuple[str, str]]:
    """The detail as (key, text) pairs for a person: timestamps local, lists and nested
    details as plain text (never Python's or JSON's notation), private keys left out."""
    return [(key, _text(key, value)) for key, value in _shown(detail)]


def _shown(detail: dict) -> list[tuple[str, object]]:
    return [(key, value) for key, value in detail.items() if key not in HIDDEN_KEYS]


def _text(key: str, value) -> str:
    """ "Wed 25 Nov 19:30" for a moment; "A3, A4" for a list; "(price_list: Standard,
    starts_at: Wed 25 Nov 19:30)" for a nested detail."""
    if isinstance(value, dict):
        pairs = ", ".join(f"{k}: {_text(k, v)}" for k, v in _shown(value))
        return f"({pairs})"
    if isinstance(value, list | tuple):
        return ", ".join(_text(key, item) for item in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in MOMENT_KEYS and isinstance(value, str):
        return local_when(value) or value
    return str(value)
