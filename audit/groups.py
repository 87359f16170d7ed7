"""A consumer group on the event stream: what every worker reading it shares (the notifier, the
webhooks' worker), each with a group of its own.

At least once: an entry is acknowledged only after `handle` returned, so `handle` must be safe to
repeat (each reader settles it with a UNIQUE row). Entries a dead consumer read and never
acknowledged are taken over with XAUTOCLAIM once idle `min_idle_ms`. A group, or the whole
stream, that Redis lost is made again at the stream's start; what Redis lost with it is each
reader's database look to find, so the stream stays the fast path only.
"""

import json
import logging

from redis.exceptions import ResponseError

from audit.stream import stream_name
from infra.redis import get_redis

log = logging.getLogger(__name__)


class GroupReader:
    group = ""  # each reader's own

    def __init__(
        self, *, consumer: str, block_ms: int = 1000, count: int = 50, min_idle_ms: int = 60_000
    ):
        self.consumer = consumer
        self.block_ms = block_ms
        self.count = count
        self.min_idle_ms = min_idle_ms
        self.group_ready = False

    @property
    def redis(self):
        # Looked up on use: a reader starts, and does what the database owes, with Redis down.
        return get_redis()

    def handle(self, event: dict) -> object:
        """Act on one event (`AuditEvent.as_message()`); safe to repeat."""
        raise NotImplementedError

    def ensure_group(self) -> None:
        """Create the group at the start of the stream, so nothing already on it is skipped.

        Once per reader, not per pass: the stream is only recreated if someone deletes it, and
        then a read fails with NOGROUP and `read` creates the group again.
        """
        if self.group_ready:
            return
        try:
            self.redis.xgroup_create(stream_name(), self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self.group_ready = True

    def read(self) -> int:
        """Handle the stale entries of dead consumers, then new ones; returns how many."""
        self.ensure_group()
        try:
            return self._read()
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
        # Redis lost the stream or the group (a wipe, a failover): start again from the stream's
        # beginning; whatever it lost is the database look's.
        log.warning("the event stream or its group %r is gone; creating it again", self.group)
        self.group_ready = False
        self.ensure_group()
        return self._read()

    def _read(self) -> int:
        handled = self.handle_entries(self.reclaim())
        entries = self.redis.xreadgroup(
            self.group, self.consumer, {stream_name(): ">"}, count=self.count, block=self.block_ms
        )
        for _stream, stream_entries in entries or []:
            handled += self.handle_entries(stream_entries)
        return handled

    def reclaim(self) -> list:
        """Entries another consumer read and never acknowledged, idle for `min_idle_ms`."""
        claimed, start = [], "0-0"
        while True:
            start, entries, _deleted = self.redis.xautoclaim(
                stream_name(),
                self.group,
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
            self.acknowledge(entry_id)
        return len(entries)

    def acknowledge(self, entry_id) -> None:
        self.redis.xack(stream_name(), self.group, entry_id)
