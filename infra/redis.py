"""The one Redis connection pool per process for the holds, the waiting room, the event stream
and the workers' heartbeats: REDIS_CLUSTER_URL's Redis Cluster when it is set, else REDIS_URL.

Every multi-key command and script keeps its keys in one cluster slot (hash tags: `{st<id>}` per
showtime, `{workers}`), so the same code runs on one Redis and on a cluster. The cache and the
channel layer always use plain Redis (REDIS_URL, CHANNEL_REDIS_URLS): see the settings.
"""

from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.exceptions import RedisClusterException
from redis.retry import Retry


def get_redis(*, timeout: float | None = None) -> redis.Redis | RedisCluster:
    """Return a client on the current REDIS_CLUSTER_URL or REDIS_URL (pooled, decoded to str).

    Connecting and every reply wait REDIS_CONNECT_TIMEOUT and REDIS_TIMEOUT seconds, or
    `timeout` for both (a check that must answer quickly, like /health).
    """
    url = settings.REDIS_CLUSTER_URL or settings.REDIS_URL
    cluster = bool(settings.REDIS_CLUSTER_URL)
    if timeout is None:
        return _client_for(url, cluster, settings.REDIS_CONNECT_TIMEOUT, settings.REDIS_TIMEOUT)
    return _client_for(url, cluster, timeout, timeout)


@cache
def _client_for(
    url: str, cluster: bool, connect_timeout: float, timeout: float
) -> redis.Redis | RedisCluster:
    options = {
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": timeout,
    }
    if not cluster:
        return redis.Redis.from_url(url, **options)
    try:
        return RedisCluster(startup_nodes=cluster_nodes(url), **options | _cluster_options(url))
    except RedisClusterException as error:
        # No seed answered: an outage like any other (and not cached: the next call tries again).
        raise redis.ConnectionError(f"no node of the Redis Cluster answered: {error}") from error


def cluster_nodes(url: str) -> list[ClusterNode]:
    """The seed nodes of a REDIS_CLUSTER_URL: `redis://host:port` URLs, comma-separated (any one
    that answers tells the client the rest of the cluster; the first's user, password and
    scheme, `rediss` for TLS, apply to all)."""
    return [
        ClusterNode(part.hostname or "127.0.0.1", part.port or 6379)
        for part in map(urlsplit, filter(None, (node.strip() for node in url.split(","))))
    ]


def _cluster_options(url: str) -> dict:
    first = urlsplit(url.split(",")[0])
    credentials = {"username": first.username, "password": first.password}
    return {
        **{name: unquote(value) for name, value in credentials.items() if value},
        **({"ssl": True} if first.scheme == "rediss" else {}),
        # While a master is down and its replica not yet promoted (cluster-node-timeout and an
        # election, a few seconds), a command retries on a fresh view of the cluster, backing
        # off to half a second (8 attempts: about 3 s), then fails like any Redis outage.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), settings.REDIS_CLUSTER_RETRIES),
    }


def load_script(client: redis.Redis, path: Path) -> Script:
    """A Lua script from `path`, registered with `client` and loaded into Redis now.

    The Script object reloads itself after NOSCRIPT (SCRIPT FLUSH, failover). Loading up front
    keeps the first call off that path, which the embedded dev server answers by disconnecting.
    """
    script = client.register_script(path.read_text())
    client.script_load(script.script)
    return script


@cache
def lua_scripts(client: redis.Redis, directory: Path) -> SimpleNamespace:
    """Every `<name>.lua` in `directory`, loaded with `client` (`load_script`), as the attribute
    `<name>`: one set per client and folder, made on first use."""
    return SimpleNamespace(
        **{path.stem: load_script(client, path) for path in sorted(directory.glob("*.lua"))}
    )
