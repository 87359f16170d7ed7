"""The Redis Stream of audit events: append after commit, catch up on what was missed.

The database row is the source of truth, and a request writes nothing else: once its
transaction commits, the event is appended to the stream and its id noted in the stream's
`appended` set, both in one Redis round trip and with no second database write. What Redis missed
is appended later by `publish_unpublished`, which the notifier runs on every pass and
`manage.py replay_events` runs on demand:
- an append that failed (Redis down at commit) leaves an `Unpublished` row, the outbox;
- a process killed between commit and append leaves nothing behind, so the catch-up also looks
  through the events committed since its last look (and SCAN_OVERLAP before it, for transactions
  that committed late) for ids missing from the `appended` set.
An event can therefore reach the stream twice: consumers deduplicate by event id. Once appended
it is Redis's to keep, and Redis can lose it (a wipe, a failover); the notifier sends the emails
such events owe from the database (`Notifier.send_missed`), so nothing that matters lives only
here.
"""

import json
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from audit.models import AuditEvent, Unpublished
from infra.redis import get_redis

log = logging.getLogger(__name__)

# Sent with `event` once an event is on the stream (the live audit feed listens).
event_published = Signal()
# Sent with `events` the catch-up appended: their process stopped (or Redis failed) after the
# commit, before its after-commit work, so whatever else that work did (telling the seat map's
# viewers) may not have happened either. The seat map listens and tells its viewers again.
events_caught_up = Signal()

# How long the catch-up leaves a fresh event to its own after-commit append.
CATCH_UP_GRACE = timedelta(seconds=10)
# How far back each look goes before the last one: a transaction that commits this long after
# writing its event is still found.
SCAN_OVERLAP = timedelta(seconds=60)
# Where the first look starts (or the next one, after Redis lost where the last one stopped).
SCAN_HORIZON = timedelta(minutes=10)
# How long the `appended` set remembers an id: well past any look that can still ask about it.
APPENDED_MEMORY = 2 * SCAN_HORIZON


def stream_name() -> str:
    return settings.EVENT_STREAM


def _appended_key() -> str:
    return f"{stream_name()}:appended"


def _scanned_key() -> str:
    return f"{stream_name()}:scanned"


def entry_fields(event: AuditEvent) -> dict[str, str]:
    return {"id": str(event.pk), "kind": event.kind, "event": json.dumps(event.as_message())}


def append(events: Iterable[AuditEvent]) -> None:
    """XADD the events (trimmed with MAXLEN ~) and note them as appended; raises on failure.
    Touches Redis only."""
    events = list(events)
    if not events:
        return
    now_ms = int(time.time() * 1000)
    pipe = get_redis().pipeline(transaction=False)
    for event in events:
        pipe.xadd(
            stream_name(),
            entry_fields(event),
            maxlen=settings.EVENT_STREAM_MAXLEN,
            approximate=True,
        )
    pipe.zadd(_appended_key(), {str(event.pk): now_ms for event in events})
    pipe.execute()
    for event in events:
        event_published.send(sender=AuditEvent, event=event)


def publish_after_commit(event: AuditEvent) -> None:
    """Append once the caller's transaction commits; if Redis fails, leave it in the outbox."""

    def after_commit():
        try:
            append([event])
        except Exception:
            log.warning("event %s not on the stream yet; the catch-up will append it", event.pk)
            try:
                Unpublished.objects.create(event=event)
            except Exception:
                log.warning(
                    "event %s not in the outbox either: the catch-up's look finds it", event.pk
                )

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
            missed = _not_appended(batch)
            append(missed)
            Unpublished.objects.filter(pk__in=[event.pk for event in batch]).delete()
        _caught_up(missed)
        published += len(batch)
        if len(batch) < limit:
            break
    return published + _append_unnoted(cutoff=cutoff, limit=limit)


def _not_appended(events: list[AuditEvent]) -> list[AuditEvent]:
    if not events:
        return []
    scores = get_redis().zmscore(_appended_key(), [str(event.pk) for event in events])
    return [event for event, score in zip(events, scores, strict=True) if score is None]


def _append_unnoted(*, cutoff: datetime, limit: int) -> int:
    """Append the events committed since the last look that no append ever noted (their process
    stopped between commit and append); returns how many."""
    client = get_redis()
    last = client.get(_scanned_key())
    since = (
        datetime.fromtimestamp(float(last), tz=UTC) - SCAN_OVERLAP
        if last
        else cutoff - SCAN_HORIZON
    )
    published = 0
    ids = AuditEvent.objects.filter(occurred_at__gt=since, occurred_at__lte=cutoff).order_by("id")
    ids = list(ids.values_list("pk", flat=True))
    for start in range(0, len(ids), limit):
        chunk = ids[start : start + limit]
        scores = client.zmscore(_appended_key(), [str(pk) for pk in chunk])
        missing = [pk for pk, score in zip(chunk, scores, strict=True) if score is None]
        if missing:
            events = list(AuditEvent.objects.filter(pk__in=missing).order_by("id"))
            append(events)
            _caught_up(events)
            published += len(missing)
    pipe = client.pipeline(transaction=False)
    pipe.set(_scanned_key(), cutoff.timestamp())
    forget_before = (timezone.now() - APPENDED_MEMORY).timestamp() * 1000
    pipe.zremrangebyscore(_appended_key(), "-inf", forget_before)
    pipe.execute()
    return published


def _caught_up(events: list[AuditEvent]) -> None:
    if not events:
        return
    try:
        events_caught_up.send(sender=AuditEvent, events=events)
    except Exception:
        log.exception("a listener failed on %d caught-up event(s)", len(events))


def unpublished_count() -> int:
    """Events in the outbox: committed while the stream could not be reached."""
    return Unpublished.objects.count()
