"""The staff's live audit feed: every event on the stream goes to every open feed as plain data,
and each feed renders its row (audit/consumers.py), so recording an event costs the request no
rendering and no lookups, whether or not anyone is watching."""

import logging

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from audit import display
from audit.models import AuditEvent
from infra.websockets import send_to_group

log = logging.getLogger(__name__)

# Channel-layer group every staff feed joins.
STAFF_FEED_GROUP = "staff.audit"


def event_published(*, event: AuditEvent, **_signal) -> None:
    """Push a new event to every open staff feed (connected to `audit.stream.event_published`)."""
    try:
        send_to_group(
            STAFF_FEED_GROUP,
            {"type": "audit.event", "kind": event.kind, "event": event.as_message()},
        )
    except Exception:
        log.exception("could not push audit event %s to the staff feed", event.pk)


class RowRenderer:
    """Renders pushed events as feed rows; remembers the names it looked up (one feed's)."""

    def __init__(self):
        self.showtimes: dict[int, str] = {}
        self.actors: dict[int, str] = {}

    def render(self, message: dict) -> str:
        event = AuditEvent(
            id=message["id"],
            kind=message["kind"],
            occurred_at=parse_datetime(message["occurred_at"]),
            showtime_id=message["showtime_id"],
            booking_ref=message["booking_ref"],
            seats=message["seats"],
            detail=message["detail"],
            request_id=message["request_id"],
        )
        showtime_id, actor_id = message["showtime_id"], message["actor_id"]
        if showtime_id is not None and showtime_id not in self.showtimes:
            self.showtimes.update(display.showtime_names([showtime_id]))
        event.showtime_name = display.name_of(showtime_id, self.showtimes)
        if actor_id is not None and actor_id not in self.actors:
            actor = get_user_model().objects.filter(pk=actor_id).first()
            self.actors[actor_id] = str(actor) if actor else ""
        actor = self.actors.get(actor_id, "") if actor_id is not None else ""
        return render_to_string(
            "audit/_event_row.html", {"event": event, "actor": actor, "new": True}
        )
