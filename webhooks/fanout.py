"""Making the deliveries each event owes the endpoints that want it, from either path to it.

The stream is the fast path (`webhooks.worker`, a consumer group); the database look is what
guarantees it: per endpoint, the events of the kinds it wants that occurred since it last looked
(never before the endpoint was made, nor more than a retry window ago), once they are older than
a grace. A transaction that commits longer than that grace after writing its event is left to the
stream (its own append, or the outbox's catch-up). Both paths may find an event: the delivery's
UNIQUE constraint keeps one.

Order per booking: before a booking's event, its earlier events that nobody has fanned out yet
are (a refund whose event reached the stream before the confirmation's, which Redis missed at
commit and the outbox appended later, still goes out second).
"""

import json
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from webhooks import events
from webhooks.models import Delivery, Endpoint, EventType


def active_endpoints() -> list[Endpoint]:
    return list(Endpoint.objects.filter(active=True))


def fan_out(event: dict, *, endpoints: list[Endpoint]) -> int:
    """Make the deliveries the event (`AuditEvent.as_message()`) owes the endpoints, after those
    of its booking's earlier events; safe to repeat. Returns how many are new."""
    kinds = events.source_kinds({name for endpoint in endpoints for name in endpoint.types})
    if event["kind"] not in kinds:
        return 0
    made = 0
    if event["booking_ref"]:
        earlier = (
            AuditEvent.objects.filter(
                booking_ref=event["booking_ref"], kind__in=kinds, id__lt=event["id"]
            )
            .exclude(Exists(Delivery.objects.filter(event=OuterRef("pk"))))
            .order_by("id")
        )
        for before in earlier:
            made += _deliveries(before.as_message(), endpoints=endpoints)
    return made + _deliveries(event, endpoints=endpoints)


def fan_out_missed(
    *,
    endpoints: list[Endpoint],
    grace: timedelta,
    limit: int,
    now: datetime | None = None,
) -> int:
    """The database look: fan out, per endpoint, the events since its last look that are older
    than `grace` (at most `limit` each); returns how many deliveries the stream had not made."""
    now = now or timezone.now()
    cutoff = now - grace
    window = timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    made = 0
    for endpoint in endpoints:
        since = max(endpoint.created_at, endpoint.looked_until or endpoint.created_at, now - window)
        found = list(
            AuditEvent.objects.filter(
                kind__in=events.source_kinds(endpoint.types),
                occurred_at__gte=since,
                occurred_at__lte=cutoff,
            ).order_by("occurred_at", "id")[:limit]
        )
        for event in found:
            made += fan_out(event.as_message(), endpoints=[endpoint])
        looked = found[-1].occurred_at if len(found) == limit else cutoff
        endpoint.looked_until = max(looked, since)
        Endpoint.objects.filter(pk=endpoint.pk).update(looked_until=endpoint.looked_until)
    return made


def _deliveries(event: dict, *, endpoints: list[Endpoint]) -> int:
    """Make the event's missing deliveries (a showtime's sell-out counts as made once any event
    made it); returns how many."""
    occurred_at = parse_datetime(event["occurred_at"])
    receivers = [endpoint for endpoint in endpoints if endpoint.created_at <= occurred_at]
    wanted = set().union(*(endpoint.types for endpoint in receivers))
    found = events.outgoing(event, wanted=wanted)
    if not found:
        return 0
    subjects = {item.subject for item in found if item.type == EventType.SHOWTIME_SOLD_OUT}
    made = set(
        Delivery.objects.filter(
            Q(event_id=event["id"]) | Q(type=EventType.SHOWTIME_SOLD_OUT, subject__in=subjects),
            endpoint__in=receivers,
        ).values_list("endpoint_id", "type", "subject")
    )
    new = [
        _delivery(endpoint=endpoint, event=event, item=item)
        for item in found
        for endpoint in receivers
        if item.type in endpoint.types and (endpoint.pk, item.type, item.subject) not in made
    ]
    # Another worker may make the same at the same moment: the constraints keep one.
    Delivery.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _delivery(*, endpoint: Endpoint, event: dict, item: events.Outgoing) -> Delivery:
    delivery_id = uuid.uuid4()
    body = {"id": str(delivery_id), "type": item.type, "created": event["occurred_at"]}
    return Delivery(
        uuid=delivery_id,
        endpoint=endpoint,
        event_id=event["id"],
        type=item.type,
        subject=item.subject,
        body=json.dumps({**body, "data": item.data}, separators=(",", ":")),
    )
