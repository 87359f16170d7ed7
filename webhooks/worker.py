"""The webhooks' worker (`manage.py run_webhooks`): a consumer group on the event stream that
makes the deliveries, the database look behind it, and the sending.

Each pass, first what needs no Redis: now and then the database look (`fan_out_missed`) and then
the due deliveries (`send_due`); last the stream, whose entries become deliveries the next pass
sends. A pass's work is bounded: `count` entries, `look_limit` events per endpoint and look,
`send_limit` attempts.
"""

import logging
import time
from datetime import timedelta

from audit.groups import GroupReader
from webhooks.fanout import active_endpoints, fan_out, fan_out_missed
from webhooks.sending import send_due

log = logging.getLogger("webhooks.worker")

GROUP = "webhooks"

# The stream gets this long to bring an event before the database look makes its deliveries.
MISSED_GRACE = timedelta(minutes=2)


class WebhookWorker(GroupReader):
    group = GROUP

    def __init__(
        self,
        *,
        consumer: str,
        block_ms: int = 1000,
        count: int = 100,
        min_idle_ms: int = 60_000,
        missed_grace: timedelta = MISSED_GRACE,
        missed_every: float = 30.0,
        look_limit: int = 200,
        send_limit: int = 50,
    ):
        super().__init__(consumer=consumer, block_ms=block_ms, count=count, min_idle_ms=min_idle_ms)
        self.missed_grace = missed_grace
        self.missed_every = missed_every
        self.look_limit = look_limit
        self.send_limit = send_limit
        self.next_missed_look = 0.0
        self.endpoints = []

    def run_once(self) -> int:
        """One pass; returns the stream entries handled."""
        if time.monotonic() >= self.next_missed_look:
            self.next_missed_look = time.monotonic() + self.missed_every
            made = fan_out_missed(
                endpoints=active_endpoints(), grace=self.missed_grace, limit=self.look_limit
            )
            if made:
                log.warning("made %d webhook deliveries the stream never brought", made)
        delivered = send_due(limit=self.send_limit)
        if delivered:
            log.info("delivered %d webhook(s)", delivered)
        return self.read()

    def read(self) -> int:
        # The endpoints as they are now, read once for all the entries of the read.
        self.endpoints = active_endpoints()
        return super().read()

    def handle(self, event: dict) -> int:
        return fan_out(event, endpoints=self.endpoints)
