"""The staff-only live audit feed."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from audit.feed import STAFF_FEED_GROUP, RowRenderer
from audit.models import AuditEvent
from infra.websockets import DirectDispatchMixin, RecordErrorsMixin

# Close code for a connection that is not allowed; the feed page stops reconnecting on it.
FORBIDDEN = 4403


class AuditFeedConsumer(RecordErrorsMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    """New audit events as table rows, for staff who may read the audit trail
    (`audit.view_auditevent`); `?kind=a&kind=b` narrows the feed."""

    async def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_active and await database_sync_to_async(_may_read)(user)):
            # Accept, then close: a handshake refused before accepting reaches the browser as
            # 1006 without our code, and the page would keep reconnecting.
            await self.accept()
            await self.close(code=FORBIDDEN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.kinds = set(query.get("kind", [])) & set(AuditEvent.Kind.values)
        self.rows = RowRenderer()
        await self.channel_layer.group_add(STAFF_FEED_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(STAFF_FEED_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """The feed only talks; anything sent to it is ignored."""

    async def audit_event(self, message):
        if not self.kinds or message["kind"] in self.kinds:
            html = await database_sync_to_async(self.rows.render)(message["event"])
            await self.send(text_data=html)


def _may_read(user) -> bool:
    return user.is_staff and user.has_perm("audit.view_auditevent")
