"""The Redis Stream of audit events: append after commit, catch up on what was missed.

The database row is the source of truth. Each event gets an `Unpublished` row in the same
transaction; it is deleted once the event is on the stream. Whatever Redis missed (down at
commit, a process killed between commit and append) is appended later by `publish_unpublished`,
which the notifier runs on every pass and `manage.py replay_events` runs on demand. An event can
therefore reach the stream twice: consumers deduplicate by event id. Once appended it is Redis's
to keep, and Redis can lose it (a wipe, a failover); the notifier sends the emails such events
owe from the database (`Notifier.send_missed`), so nothing that matters lives only here.
"""

import json
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from audit.models import AuditEvent, Unpublished
from config.redis import get_redis

log = logging.getLogger(__name__)

# Sent with `event` once an event is on the stream (the live audit feed listens).
event_published = Signal()

# How long the catch-up leaves a fresh event to its own after-commit append.
CATCH_UP_GRACE = timedelta(seconds=10)


def stream_name() -> str:
    return settings.EVENT_STREAM


def entry_fields(event: AuditEvent) -> dict[str, str]:
    return {"id": str(event.pk), "kind": event.kind, "event": json.dumps(event.as_message())}


def append(events: Iterable[AuditEvent]) -> None:
    """XADD the events (trimmed with MAXLEN ~) and forget their outbox rows; raises on failure."""
    events = list(events)
    if not events:
        return
    pipe = get_redis().pipeline(transaction=False)
    for event in events:
        pipe.xadd(
            stream_name(),
            entry_fields(event),
            maxlen=settings.EVENT_STREAM_MAXLEN,
            approximate=True,
        )
    pipe.execute()
    Unpublished.objects.filter(pk__in=[event.pk for event in events]).delete()
    for event in events:
        event_published.send(sender=AuditEvent, event=event)


def publish_after_commit(event: AuditEvent) -> None:
    """Append once the caller's transaction commits; if Redis fails, the catch-up will."""

    def after_commit():
        try:
            append([event])
        except Exception:
            log.warning("event %s not on the stream yet; the catch-up will append it", event.pk)

    transaction.on_commit(after_commit)


def publish_unpublished(*, grace: timedelta = CATCH_UP_GRACE, limit: int = 500) -> int:
    """Append committed events still missing from the stream, oldest first; returns how many."""
    published = 0
    cutoff = timezone.now() - grace
    while True:
        with transaction.atomic():
            # Several notifiers may catch up at once: each takes rows nobody else has locked.
            batch = list(
                AuditEvent.objects.filter(unpublished__isnull=False, occurred_at__lte=cutoff)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("id")[:limit]
            )
            append(batch)
        published += len(batch)
        if len(batch) < limit:
            return published


def unpublished_count() -> int:
    return Unpublished.objects.count()
