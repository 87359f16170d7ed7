"""The live seat map's socket: the full map on connect, then each change, then checks.

Every socket keeps what its page shows: each seat's look and the version it came with. A
message's seat goes out only when newer than that (the page applies the same rule, so the two
agree whatever order messages arrive in). A showtime's sockets in one process share a `Watch`
that checks them against the truth every SEATMAP_CHECK_SECONDS when the showtime's seat-state
version has moved since its last look, and at least every CHECKS_BEFORE_FULL_LOOK checks
anyway (a change made but never numbered: a process that died between a database commit and
its telling). A socket that shows a seat otherwise than the truth, at an older version, is sent
that seat as the truth has it. So a lost message, a sender that died, a hold that lapsed
unannounced are all healed within a check and a reading (about SEATMAP_CHECK_SECONDS + 1 s),
on the same socket, without a reload.

A socket opened with `?format=json` is sent the same messages as JSON (seats.broadcast) instead
of the page's HTML: only the rendering differs, so the rule and the heals are the same. Every
viewer is a `Viewer` (what it was shown, and the rule); an API event stream is one too
(seats.subscriptions), kept and healed by the same watch.
"""

import asyncio
import contextvars
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from cinema.models import Showtime
from cinema.plans import Plan, get_plan
from infra.metrics import count_healed
from infra.websockets import DirectDispatchMixin, RecordErrorsMixin
from seats import holds
from seats.broadcast import (
    Reading,
    change_json,
    fragment_html,
    full_map_html,
    group_name,
    look,
    map_json,
    read_map,
)
from seats.seatmap import SeatState

log = logging.getLogger(__name__)

# Close code for a showtime that does not exist (4000-4999 are the application's own).
UNKNOWN_SHOWTIME = 4404
# A watch reads the whole map at least this often (in checks), even when the version stood still.
CHECKS_BEFORE_FULL_LOOK = 6
# Rendered fragments a watch keeps: every viewer without a hold of its own shares one per message.
FRAGMENTS_KEPT = 64
# What a socket asks for to be sent JSON (`?format=json`); also what marks a JSON message among
# the kept fragments (an HTML fragment's key is (version, looks)).
JSON = "json"


class Viewer:
    """What one viewer was shown: each seat's look and the version it came with, in the hall's
    order; only what is newer goes out. A viewer has its `watch` and `viewer_id`, and its
    transport's `render` (seats' looks at a version -> a message) and `send(text_data=...)`."""

    watch: "Watch"
    viewer_id: int | None
    render: Callable[[int, tuple], str]
    looks: list[SeatState]
    versions: list[int]

    def show(self, reading: Reading) -> None:
        """Take a full reading as what this viewer was sent."""
        self.looks = [look(state, holder, self.viewer_id) for _, state, holder in reading.seats]
        self.versions = [reading.version] * len(self.looks)

    async def seats_update(self, event):
        """A change told: send the seats this viewer shows at an older version."""
        version, fresh = event["version"], []
        for label, state, holder in event["seats"]:
            at = self.watch.positions.get(label)
            if at is not None and version > self.versions[at]:
                self.versions[at] = version
                self.looks[at] = look(state, holder, self.viewer_id)
                fresh.append((label, self.looks[at]))
        if fresh:
            await self.send(text_data=self.render(version, tuple(fresh)))

    async def heal(self, reading: Reading, seen: list[str]) -> int:
        """Send the seats this viewer shows otherwise than `reading` (as `seen` by a viewer with
        no hold), where what it shows is older; returns how many."""
        if self.looks == seen:  # the common case, compared in C: nothing lost, no hold of theirs
            return 0
        version, fixes = reading.version, []
        for at, shown in enumerate(self.looks):
            if shown != seen[at] and self.versions[at] < version:
                label, state, holder = reading.seats[at]
                truth = look(state, holder, self.viewer_id)
                if truth != shown:
                    self.versions[at] = version
                    self.looks[at] = truth
                    fixes.append((label, truth))
        if fixes:
            await self.send(text_data=self.render(version, tuple(fixes)))
        return len(fixes)


class SeatMapConsumer(RecordErrorsMixin, DirectDispatchMixin, Viewer, AsyncWebsocketConsumer):
    """A live seat map, in HTML for the page or, with `?format=json`, in JSON. Read only: holding
    and buying go through the HTTP forms, so anonymous viewers may watch."""

    watch = None

    async def connect(self):
        showtime_id = self.scope["url_route"]["kwargs"]["showtime_id"]
        showtime, plan = await database_sync_to_async(_find_showtime)(showtime_id)
        await self.accept()
        if showtime is None:
            await self.close(code=UNKNOWN_SHOWTIME)
            return
        user = self.scope["user"]
        self.viewer_id = user.pk if user.is_authenticated else None
        # Joined before the map is read: nothing told after the reading is missed.
        await self.channel_layer.group_add(group_name(showtime.pk), self.channel_name)
        self.watch = watch(showtime, plan)
        if _wants_json(self.scope):
            full_map, self.render = self.watch.full_map_json, self.watch.change_json
        else:
            full_map, self.render = self.watch.full_map, self.watch.fragment
        reading, text = await database_sync_to_async(full_map)(self.viewer_id)
        self.show(reading)
        await self.send(text_data=text)
        self.watch.join(self)

    async def disconnect(self, code):
        if self.watch:
            self.watch.leave(self)
            await self.channel_layer.group_discard(
                group_name(self.watch.showtime.pk), self.channel_name
            )

    async def receive(self, text_data=None, bytes_data=None):
        """Viewers only listen; anything they send is ignored."""


def _wants_json(scope) -> bool:
    return parse_qs(scope.get("query_string", b"").decode("latin1")).get("format") == [JSON]


class Watch:
    """The viewers of one showtime in this process, the seats' positions in the hall's order,
    the messages rendered for them, and the checks that heal them."""

    def __init__(self, showtime: Showtime, plan: Plan):
        self.showtime = showtime
        self.plan = plan
        self.positions = {label: at for at, label in enumerate(self.plan.seats_by_label)}
        self.viewers: set[Viewer] = set()
        self.fragments: dict[tuple, str] = {}
        self.checked = -1  # the version of the last look at the whole map
        self.task: asyncio.Task | None = None

    def full_map(self, viewer_id: int | None) -> tuple[Reading, str]:
        reading = read_map(showtime=self.showtime)
        return reading, full_map_html(plan=self.plan, reading=reading, viewer_id=viewer_id)

    def full_map_json(self, viewer_id: int | None) -> tuple[Reading, str]:
        reading = read_map(showtime=self.showtime)
        text = map_json(
            showtime_id=self.showtime.pk, plan=self.plan, reading=reading, viewer_id=viewer_id
        )
        return reading, text

    def fragment(self, version: int, looks: tuple) -> str:
        key = (version, looks)
        html = self.fragments.get(key)
        if html is None:
            html = self._keep(key, fragment_html(plan=self.plan, version=version, looks=looks))
        return html

    def change_json(self, version: int, looks: tuple) -> str:
        key = (JSON, version, looks)
        text = self.fragments.get(key)
        if text is None:
            text = self._keep(key, change_json(version=version, looks=looks))
        return text

    def _keep(self, key: tuple, message: str) -> str:
        if len(self.fragments) >= FRAGMENTS_KEPT:
            self.fragments.clear()
        self.fragments[key] = message
        return message

    def join(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        # Its last check may have ended (and let it go) while this viewer was connecting.
        _watches.setdefault(self.showtime.pk, self)
        loop = asyncio.get_running_loop()
        # (A task of another loop is one a test's closed loop left behind.)
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            # In a context of its own: it serves every viewer, and outlives the one that started
            # it (an event stream's request ends its thread for database work with it).
            self.task = loop.create_task(self.check(), context=contextvars.Context())

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    async def check(self):
        """While anyone watches: look at the whole map when the version moved (or anyway, now
        and then), and heal every viewer shown an older, other state."""
        checks = 0
        try:
            while self.viewers:
                await asyncio.sleep(settings.SEATMAP_CHECK_SECONDS)
                checks += 1
                if not self.viewers:
                    break
                try:
                    if checks % CHECKS_BEFORE_FULL_LOOK and not await self.moved():
                        continue
                    reading = await database_sync_to_async(read_map)(showtime=self.showtime)
                except Exception as error:
                    log.warning("seat map %s: check skipped: %s", self.showtime.pk, error)
                    continue
                seen = [look(state, holder, None) for _, state, holder in reading.seats]
                healed = [await viewer.heal(reading, seen) for viewer in list(self.viewers)]
                if any(healed):
                    count_healed(sum(healed))
                    log.info(
                        "seat map %s: %d seat(s) healed for %d viewer(s)",
                        self.showtime.pk,
                        sum(healed),
                        sum(1 for count in healed if count),
                    )
                self.checked = reading.version
        finally:
            self.task = None
            if _watches.get(self.showtime.pk) is self and not self.viewers:
                del _watches[self.showtime.pk]

    async def moved(self) -> bool:
        observed = await database_sync_to_async(holds.observe)(
            showtime_id=self.showtime.pk, labels=[], number=False
        )
        return observed.version != self.checked


# One watch per showtime watched in this process.
_watches: dict[int, Watch] = {}


def watch(showtime: Showtime, plan: Plan) -> Watch:
    """The showtime's watch in this process (a new one once its hall's layout changed), with
    `showtime` as just read: staff may have moved it, or changed when its wheelchair spaces go on
    general sale, since the watch began."""
    current = _watches.get(showtime.pk)
    if current is None or current.plan is not plan:
        current = _watches[showtime.pk] = Watch(showtime, plan)
    current.showtime = showtime
    return current


def _find_showtime(showtime_id: int) -> tuple[Showtime | None, Plan | None]:
    showtime = Showtime.objects.select_related("auditorium").filter(pk=showtime_id).first()
    return showtime, showtime and get_plan(showtime.auditorium)
