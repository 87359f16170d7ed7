"""WebSocket plumbing every live feed shares: group sends from sync code, and the consumers'
dispatch (straight to the handler, errors recorded under one request id).

The feeds themselves live with what they show: the seat map's in seats/broadcast.py and
seats/consumers.py, the staff audit feed's in audit/feed.py and audit/consumers.py.
"""

from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import AcceptConnection, DenyConnection, StopConsumer
from channels.layers import get_channel_layer

from config.requestid import new_request_id, request_id_scope


def send_to_group(group: str, message: dict) -> None:
    """Send `message` once to every connection in `group` (from sync code, e.g. after commit)."""
    async_to_sync(get_channel_layer().group_send)(group, message)


class RecordErrorsMixin:
    """Every message of the connection runs under one request id; an unexpected exception is
    recorded as a system error (with that id) before the connection goes down with it."""

    async def dispatch(self, message):
        from audit.services import record_error
        from config.errors import outage_kind
        from config.overload import count_overload

        if not hasattr(self, "request_id"):
            self.request_id = new_request_id()
        with request_id_scope(self.request_id):
            try:
                await super().dispatch(message)
            except (StopConsumer, AcceptConnection, DenyConnection):
                raise
            except Exception as error:
                path = self.scope.get("path", "")
                if kind := outage_kind(error):
                    # As for HTTP: an outage is counted and logged, not a row per connection.
                    count_overload(kind, what=f"websocket {path}: {type(error).__name__}")
                else:
                    await database_sync_to_async(record_error)(
                        f"websocket {type(self).__name__}", error, path=path
                    )
                raise


class DirectDispatchMixin:
    """Hand each message straight to its handler.

    Channels first runs `close_old_connections` on its one shared sync thread before every
    message. Our handlers reach the database only through `database_sync_to_async`, which does
    that itself, so the hop only made a fragment sent to N viewers queue N thread round trips
    (about a third of a millisecond each): with it, 1,000 viewers on one process waited ~350 ms.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
