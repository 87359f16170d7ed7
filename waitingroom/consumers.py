"""The queue page's live feed: each visitor's place, pushed whenever the queue moves.

The worker tells a room's group after every pass (`queue.moved`); each process then reads the
places of all its own watchers of that room in one Redis round trip (`_places`, shared by the
consumers through one task per pass) and each consumer sends its visitor's place if it changed.
Connect is the resync: the place as it is now.

With `?present=1` (the seat map and checkout pages of an admitted shopper) the connection only
says the shopper is still here: a member with no page of the sale open for longer than the grace
frees their slot (queue.presence).
"""

import asyncio
from collections import Counter, defaultdict

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.urls import reverse

from cinema.models import Showtime
from infra.websockets import DirectDispatchMixin, RecordErrorsMixin
from waitingroom import queue, services
from waitingroom.views import place_context

UNKNOWN_ROOM = 4404
NO_PLACE = 4403

# This process's watchers: showtime id -> member -> open queue pages.
_watching: dict[int, Counter] = defaultdict(Counter)
# The read for the latest pass of each room: showtime id -> (the pass's moment, its task).
_reads: dict[int, tuple[int, asyncio.Future]] = {}
# The fragments rendered for the latest pass of each room: what the page says -> its HTML.
_rendered: dict[int, dict] = defaultdict(dict)


class QueueConsumer(RecordErrorsMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    showtime: Showtime | None = None
    member = ""
    watching = False
    shown: tuple = ()

    async def connect(self):
        showtime_id = self.scope["url_route"]["kwargs"]["showtime_id"]
        watching = b"present=1" not in self.scope.get("query_string", b"").split(b"&")
        group = services.group_name(showtime_id)
        # Accepted at once: a crowd's connects queue for the threads below, and daphne refuses a
        # connection still opening after 5 s (the page then polls and reconnects: more load).
        await self.accept()
        if watching:
            # Joined before the place is read: nothing told after the reading is missed.
            await self.channel_layer.group_add(group, self.channel_name)
        # One hop off the thread Django's views run on: a crowd connecting must not queue the
        # shoppers, nor wait three times each behind the others.
        showtime, member, now = await database_sync_to_async(_open, thread_sensitive=False)(
            self.scope, showtime_id, watching=watching
        )
        if showtime is None or not member:
            if watching:
                await self.channel_layer.group_discard(group, self.channel_name)
            await self.close(code=UNKNOWN_ROOM if showtime is None else NO_PLACE)
            return
        self.showtime, self.member = showtime, member
        if not watching:
            return
        self.watching = True
        _watching[showtime.pk][member] += 1
        await self._show(*now, paused=showtime.room.paused, at=0)

    async def disconnect(self, code):
        if self.showtime is None:
            return
        if self.watching:
            watchers = _watching[self.showtime.pk]
            watchers[self.member] -= 1
            if watchers[self.member] <= 0:
                del watchers[self.member]
            await self.channel_layer.group_discard(
                services.group_name(self.showtime.pk), self.channel_name
            )
        await _presence(self.showtime.pk, self.member, opened=False)

    async def receive(self, text_data=None, bytes_data=None):
        """The page only listens; anything it sends is ignored."""

    async def queue_moved(self, event):
        found, per_minute = await _places(self.showtime, at=event["at"])
        await self._show(found, per_minute, paused=event.get("paused", False), at=event["at"])

    async def _show(self, found: dict, per_minute: float | None, *, paused: bool, at: int):
        place = found.get(self.member)
        if place is None:
            # Not read in this pass (connected meanwhile) or no longer in the room.
            place = await sync_to_async(queue.place, thread_sensitive=False)(
                showtime_id=self.showtime.pk, member=self.member
            )
            if place is None:
                return
        wait = services.estimate(place.ahead, per_minute)
        # What the page says: a message only when that changes, rendered once per pass for all
        # the pages of this process that say the same.
        if place.admitted:
            says = ("turn", place.deadline_ms)
        else:
            says = (
                "ahead",
                services.shown_ahead(place.ahead),
                paused,
                wait,
                self.showtime.sale_opens_later,
            )
        if says == self.shown:
            return
        self.shown = says
        # A connect (at 0) renders its own: the pass's fragments stay for the rest of the pass.
        rendered = _rendered[self.showtime.pk] if at else {}
        if rendered.get("at") != at:
            rendered.clear()
            rendered["at"] = at
        if says not in rendered:
            context = place_context(
                showtime=self.showtime,
                place=place,
                paused=paused,
                queue_url=reverse("waitingroom:queue", args=[self.showtime.pk]),
                wait_minutes=wait,
            )
            rendered[says] = render_to_string("waitingroom/_place.html", context | {"at": at})
        await self.send(text_data=rendered[says])


def _open(scope, showtime_id: int, *, watching: bool) -> tuple[Showtime | None, str, tuple]:
    """The room's showtime and the visitor's member (or None / "" when they have none there);
    then their page is counted open and, when they watch, their place read."""
    showtime = (
        Showtime.objects.select_related("movie", "auditorium", "room")
        .filter(pk=showtime_id, room__on=True)
        .first()
    )
    member = services.member_for(scope["user"])
    if showtime is None or isinstance(member, services.NoPlace):
        return showtime, "", ()
    queue.presence(showtime_id=showtime.pk, member=member, opened=True)
    return showtime, member, _read(showtime, [member]) if watching else ()


async def _presence(showtime_id: int, member: str, *, opened: bool) -> None:
    await sync_to_async(queue.presence, thread_sensitive=False)(
        showtime_id=showtime_id, member=member, opened=opened
    )


async def _places(showtime: Showtime, *, at: int) -> tuple[dict, float | None]:
    """The places of this process's watchers of `showtime` and the room's pace, read once per
    pass of the worker (`at`) for all of them."""
    latest = _reads.get(showtime.pk)
    if latest is None or latest[0] != at:
        members = list(_watching[showtime.pk])
        read = asyncio.ensure_future(
            sync_to_async(_read, thread_sensitive=False)(showtime, members)
        )
        _reads[showtime.pk] = latest = (at, read)
    return await latest[1]


def _read(showtime: Showtime, members: list[str]) -> tuple[dict, float | None]:
    found = queue.places(showtime_id=showtime.pk, members=members)
    return dict(zip(members, found, strict=True)), services.turnover(showtime)
