"""The seat map's live feed: seat changes out to everyone watching a showtime.

Each change renders ONE fragment of just the changed seats (the same partial the page uses,
swapped by id) and sends it once to the showtime's group. The seats' state is read when the
fragment is rendered, so the last fragment for a seat always tells its latest state.
"""

import logging
from collections.abc import Iterable

from django.template.loader import render_to_string

from cinema.models import Showtime
from config.websockets import send_to_group
from seats.render import seat_html
from seats.seatmap import SeatState, SeatView, seat_views, view_seat_map

log = logging.getLogger(__name__)


def group_name(showtime_id: int) -> str:
    return f"showtime.{showtime_id}"


def render_seats(views) -> str:
    return "".join(seat_html(view, oob=True) for view in views)


def render_full_map(*, showtime: Showtime, user) -> str:
    """Every seat as this viewer sees it, replacing the whole map (sent on every connect)."""
    return render_to_string(
        "seats/_seat_rows.html",
        {"seat_map": view_seat_map(showtime=showtime, user=user), "oob": True},
    )


def seats_changed(
    *,
    showtime: Showtime,
    labels: Iterable[str],
    holder_id: int | None = None,
    booked: set[str] | None = None,
) -> None:
    """Tell every viewer of the showtime the new state of `labels` (call after commit).

    Seats held by the user `holder_id` render as 'mine' for them and as held for everyone else.
    `booked` is the sold seats among `labels` when the caller already knows them (else they are
    read). A failure here is logged, never raised: the change itself has committed, and viewers
    resynchronise on their next connect.
    """
    labels = sorted(set(labels))
    if not labels:
        return
    try:
        views = seat_views(showtime=showtime, labels=labels, viewer_id=holder_id, booked=booked)
        theirs = any(view.state == SeatState.MINE for view in views)
        message = {
            "type": "seats.update",
            "html": render_seats(_as_others_see(views) if theirs else views),
            "holder": holder_id,
        }
        if theirs:
            message["holder_html"] = render_seats(views)
        send_to_group(group_name(showtime.pk), message)
    except Exception:
        log.exception("could not broadcast seats %s of showtime %s", labels, showtime.pk)


def events_caught_up(*, events, **_signal) -> None:
    """Tell the viewers again about the seats of events the catch-up appended late (connected to
    `audit.stream.events_caught_up`): the process that committed them may have died before its
    own `seats_changed`. The seats' state is read now, so telling twice is harmless."""
    seats: dict[int, set[str]] = {}
    for event in events:
        if event.showtime_id and event.seats:
            seats.setdefault(event.showtime_id, set()).update(event.seats)
    for showtime in Showtime.objects.filter(pk__in=seats):
        seats_changed(showtime=showtime, labels=seats[showtime.pk])


def _as_others_see(views: list[SeatView]) -> list[SeatView]:
    return [
        SeatView(view.seat, SeatState.HELD) if view.state == SeatState.MINE else view
        for view in views
    ]
