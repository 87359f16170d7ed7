"""The notification worker: a consumer group on the event stream that sends the emails.

At-least-once from the stream, at-most-once to the inbox: an entry is acknowledged only after its
email went out, and a `Notification` row (UNIQUE per event, committed with the send) stops a
second delivery of the same event, whether it comes from a redelivery, a reclaim or a duplicate
append. Entries a dead consumer left pending are taken over with XAUTOCLAIM once idle long enough.
"""

import json
import logging

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from redis.exceptions import ResponseError

from audit.emails import compose
from audit.models import Notification
from audit.stream import publish_unpublished, stream_name
from config.redis import get_redis

log = logging.getLogger("audit.notifier")

GROUP = "notifier"


class Notifier:
    def __init__(
        self,
        *,
        consumer: str,
        block_ms: int = 1000,
        count: int = 50,
        min_idle_ms: int = 60_000,
    ):
        self.consumer = consumer
        self.block_ms = block_ms
        self.count = count
        self.min_idle_ms = min_idle_ms
        self.redis = get_redis()
        self.group_ready = False

    def ensure_group(self) -> None:
        """Create the group at the start of the stream, so nothing already on it is skipped.

        Once per notifier, not per pass: the stream is only recreated if someone deletes it, and
        then a pass fails with NOGROUP and the next one creates the group again.
        """
        if self.group_ready:
            return
        try:
            self.redis.xgroup_create(stream_name(), GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self.group_ready = True

    def run_once(self) -> int:
        """One pass: catch up the outbox, reclaim stale entries, read new ones. Returns handled."""
        self.ensure_group()
        caught_up = publish_unpublished()
        if caught_up:
            log.info("appended %d event(s) the stream had missed", caught_up)
        try:
            handled = self.handle_entries(self.reclaim())
            entries = self.redis.xreadgroup(
                GROUP, self.consumer, {stream_name(): ">"}, count=self.count, block=self.block_ms
            )
        except ResponseError as error:
            if "NOGROUP" in str(error):
                self.group_ready = False
            raise
        for _stream, stream_entries in entries or []:
            handled += self.handle_entries(stream_entries)
        return handled

    def reclaim(self) -> list:
        """Entries another consumer read and never acknowledged, idle for `min_idle_ms`."""
        claimed, start = [], "0-0"
        while True:
            start, entries, _deleted = self.redis.xautoclaim(
                stream_name(),
                GROUP,
                self.consumer,
                min_idle_time=self.min_idle_ms,
                start_id=start,
                count=self.count,
            )
            claimed += [entry for entry in entries if entry[1]]
            if start in ("0-0", b"0-0"):
                return claimed

    def handle_entries(self, entries) -> int:
        for entry_id, fields in entries:
            self.handle(json.loads(fields["event"]))
            self.redis.xack(stream_name(), GROUP, entry_id)
        return len(entries)

    def handle(self, event: dict) -> bool:
        """Send the event's email unless it was sent before; True if one went out now."""
        email = compose(event)
        if email is None:
            return False
        with transaction.atomic():
            try:
                with transaction.atomic():
                    Notification.objects.create(
                        event_id=event["id"], recipient=email.recipient, subject=email.subject
                    )
            except IntegrityError:
                log.info("event %s was already notified; skipping", event["id"])
                return False
            message = EmailMultiAlternatives(email.subject, email.text, to=[email.recipient])
            message.attach_alternative(email.html, "text/html")
            # A failed send raises and rolls the Notification back: the entry stays pending.
            message.send()
        log.info("sent %s email for booking %s", event["kind"], event["booking_ref"])
        return True
