"""A live seat map outside a WebSocket: what the API's event stream of a showtime sends.

A `Subscription` is a viewer like a socket (seats.consumers.Viewer): it joins the showtime's
group on a channel of its own before it reads the map, so nothing told after the reading is
missed; of each change it sends the seats newer than what it sent before, and the process's
watch heals it like a socket. No new way of telling is needed: the group's messages are the
sockets' messages. Its messages wait in `outbox`, framed by the transport, which sends them as
it likes and closes the subscription however its request ends: closing leaves the watch and the
group, so nothing of a subscription outlives its client.
"""

import asyncio
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from cinema.models import Showtime
from cinema.plans import Plan
from seats.broadcast import group_name
from seats.consumers import Viewer, watch

log = logging.getLogger(__name__)

# How a transport frames a message: (event, version, JSON) -> what it sends. The event is "map"
# for the full map (seats.broadcast.map_json), "seats" for seats that changed (change_json).
Frame = Callable[[str, int, str], str]


class Subscription(Viewer):
    """One client's live map of a showtime: framed messages in `outbox`, then None once the
    subscription can no longer receive (its client should come back for a fresh map)."""

    def __init__(self, *, showtime: Showtime, plan: Plan, viewer_id: int | None, frame: Frame):
        self.watch = watch(showtime, plan)
        self.viewer_id = viewer_id
        self.frame = frame
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.layer = get_channel_layer()
        self.group = group_name(showtime.pk)
        self.channel: str | None = None
        self.receiving: asyncio.Task | None = None
        # Changes received before the map was read and shown, or None once it has been.
        self.early: list[dict] | None = []

    def render(self, version: int, looks: tuple) -> str:
        return self.frame("seats", version, self.watch.change_json(version, looks))

    async def send(self, *, text_data: str) -> None:
        self.outbox.put_nowait(text_data)

    async def open(self) -> None:
        """Join the showtime's group, queue the full map, then each change."""
        self.channel = await self.layer.new_channel()
        # Receiving from the start: the layer lets a channel go when its receive is cancelled.
        self.receiving = asyncio.create_task(self._receive())
        await self.layer.group_add(self.group, self.channel)
        reading, text = await database_sync_to_async(self.watch.full_map_json)(self.viewer_id)
        self.show(reading)
        await self.send(text_data=self.frame("map", reading.version, text))
        early, self.early = self.early, None
        for message in early:  # (each seat's version decides, whatever the order)
            await self.seats_update(message)
        self.watch.join(self)

    async def close(self) -> None:
        """Leave the watch and the group, whatever `open` got to."""
        self.watch.leave(self)
        if self.receiving:
            self.receiving.cancel()
            await asyncio.wait([self.receiving])
        if self.channel:
            await self.layer.group_discard(self.group, self.channel)

    async def _receive(self) -> None:
        try:
            while True:
                message = await self.layer.receive(self.channel)
                if message.get("type") != "seats.update":
                    continue
                if self.early is None:
                    await self.seats_update(message)
                else:
                    self.early.append(message)
        except Exception:
            log.exception("seat map %s: a stream stopped receiving", self.watch.showtime.pk)
        finally:
            self.outbox.put_nowait(None)
