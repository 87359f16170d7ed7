from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from cinema.models import Showtime
from config.websockets import DirectDispatchMixin, RecordErrorsMixin
from seats.broadcast import group_name, render_full_map

# Close code for a showtime that does not exist (4000-4999 are the application's own).
UNKNOWN_SHOWTIME = 4404


class SeatMapConsumer(RecordErrorsMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    """A live seat map: the full map on connect (the resync), then every change as it happens.

    Read only: holding and buying go through the HTTP forms, so anonymous viewers may watch.
    """

    group = None

    async def connect(self):
        showtime_id = self.scope["url_route"]["kwargs"]["showtime_id"]
        showtime = await database_sync_to_async(_find_showtime)(showtime_id)
        await self.accept()
        if showtime is None:
            await self.close(code=UNKNOWN_SHOWTIME)
            return
        self.group = group_name(showtime.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        html = await database_sync_to_async(render_full_map)(
            showtime=showtime, user=self.scope["user"]
        )
        await self.send(text_data=html)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Viewers only listen; anything they send is ignored."""

    async def seats_update(self, event):
        user = self.scope["user"]
        mine = event.get("holder") is not None and user.is_authenticated
        if mine and user.pk == event["holder"] and "holder_html" in event:
            await self.send(text_data=event["holder_html"])
        else:
            await self.send(text_data=event["html"])


def _find_showtime(showtime_id: int) -> Showtime | None:
    return Showtime.objects.select_related("auditorium").filter(pk=showtime_id).first()
