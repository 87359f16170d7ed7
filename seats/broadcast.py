"""The only code that talks to the channel layer: seat changes out to everyone watching, and
audit events out to the staff watching the live feed.

Each change renders ONE fragment of just the changed seats (the same partial the page uses,
swapped by id) and sends it once to the showtime's group. The seats' state is read when the
fragment is rendered, so the last fragment for a seat always tells its latest state.
"""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from audit.consumers import STAFF_FEED_GROUP
from cinema.models import Showtime
from seats.render import seat_html
from seats.seatmap import seat_views, view_seat_map

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
    *, showtime_id: int, labels: Iterable[str], holder_id: int | None = None, token: str = ""
) -> None:
    """Tell every viewer of the showtime the new state of `labels` (call after commit).

    Seats held by `token` render as 'mine' for the user `holder_id` and as held for everyone
    else. A failure here is logged, never raised: the change itself has committed, and viewers
    resynchronise on their next connect.
    """
    labels = sorted(set(labels))
    if not labels:
        return
    try:
        showtime = Showtime.objects.select_related("auditorium").get(pk=showtime_id)
        message = {
            "type": "seats.update",
            "html": render_seats(seat_views(showtime=showtime, labels=labels)),
            "holder": holder_id,
        }
        if holder_id is not None and token:
            message["holder_html"] = render_seats(
                seat_views(showtime=showtime, labels=labels, token=token)
            )
        async_to_sync(get_channel_layer().group_send)(group_name(showtime_id), message)
    except Exception:
        log.exception("could not broadcast seats %s of showtime %s", labels, showtime_id)


def audit_event_published(*, event, **_signal) -> None:
    """Push a new audit event to every open staff feed (connected to `event_published`)."""
    try:
        message = {
            "type": "audit.event",
            "kind": event.kind,
            "html": render_to_string("audit/_event_row.html", {"event": event, "new": True}),
        }
        async_to_sync(get_channel_layer().group_send)(STAFF_FEED_GROUP, message)
    except Exception:
        log.exception("could not push audit event %s to the staff feed", event.pk)
