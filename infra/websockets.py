"""WebSocket plumbing every live feed shares: group sends from sync code, and the consumers'
dispatch (straight to the handler, errors recorded under one request id).

The feeds themselves live with what they show: the seat map's in seats/broadcast.py and
seats/consumers.py, the staff audit feed's in audit/feed.py and audit/consumers.py.
"""

from functools import cache

import redis
from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import AcceptConnection, DenyConnection, StopConsumer
from channels.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.conf import settings

from infra.errors import report_unhandled
from infra.requestid import new_request_id, request_id_scope


def send_to_group(group: str, message: dict) -> None:
    """Send `message` once to every connection in `group` (from sync code, e.g. after commit).

    On the Redis pub/sub layer this is what its `group_send` does, one PUBLISH of the serialised
    message on the group's channel of the shard the layer picks, sent here with a plain Redis
    client: `async_to_sync` would hop to an event loop thread and back for it, the largest cost
    of a hold request in its profile (two sends, ~9 ms of ~21). Other layers get `group_send`.
    """
    layer = get_channel_layer()
    if isinstance(layer, RedisPubSubChannelLayer) and (shard := _shard_for(group)):
        client, channel = shard
        client.publish(channel, layer.serialize(message))
    else:
        async_to_sync(layer.group_send)(group, message)


def _shard_for(group: str) -> tuple[redis.Redis, str] | None:
    """The Redis client and channel name the pub/sub layer publishes `group` on, or None for a
    host given in a form not handled here (Sentinel)."""
    config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER].get("CONFIG", {})
    hosts = decode_hosts(config.get("hosts"))
    channel, index = layer_channel(group, prefix=config.get("prefix", "asgi"), hosts=len(hosts))
    if "master_name" in hosts[index]:
        return None
    return _publisher(tuple(sorted(hosts[index].items()))), channel


def layer_channel(group: str, *, prefix: str, hosts: int) -> tuple[str, int]:
    """The channel the pub/sub layer carries `group` on, and which of its `hosts` carries it.

    The one place that depends on channels-redis's own, private choice (`_consistent_hash`, in
    4.3.0, pinned in requirements.txt); infra/tests/test_websockets.py holds it against the
    layer's choice, so an upgrade that changes it fails there, not in production.
    """
    channel = f"{prefix}__group__{group}"
    return channel, _consistent_hash(channel, hosts)


@cache
def _publisher(host: tuple) -> redis.Redis:
    host = dict(host)
    options = {
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "socket_timeout": settings.REDIS_TIMEOUT,
    }
    if address := host.pop("address", None):
        return redis.Redis.from_url(address, **options | host)
    return redis.Redis(**options | host)


class RecordErrorsMixin:
    """Every message of the connection runs under one request id; an unexpected exception is
    recorded as a system error (with that id) before the connection goes down with it."""

    async def dispatch(self, message):
        if not hasattr(self, "request_id"):
            self.request_id = new_request_id()
        with request_id_scope(self.request_id):
            try:
                await super().dispatch(message)
            except (StopConsumer, AcceptConnection, DenyConnection):
                raise
            except Exception as error:
                path = self.scope.get("path", "")
                await database_sync_to_async(report_unhandled)(
                    error,
                    where=f"websocket {type(self).__name__}",
                    what=f"websocket {path}",
                    path=path,
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
