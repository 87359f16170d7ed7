"""The one Redis connection pool per process for the holds, the waiting room, the event stream
and the workers' heartbeats: REDIS_CLUSTER_URL's Redis Cluster when it is set, else REDIS_URL.

Every multi-key command and script keeps its keys in one cluster slot (hash tags: `{st<id>}` per
showtime, `{workers}`), so the same code runs on one Redis and on a cluster. The cache and the
channel layer always use plain Redis (REDIS_URL, CHANNEL_REDIS_URLS): see the settings.
"""

import time
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.commands.core import Script
from redis.exceptions import ClusterError, RedisClusterException, SlotNotCoveredError
from redis.retry import Retry


def get_redis(*, timeout: float | None = None) -> redis.Redis | RedisCluster:
    """Return a client on the current REDIS_CLUSTER_URL or REDIS_URL (pooled, decoded to str).

    Connecting and every reply wait REDIS_CONNECT_TIMEOUT and REDIS_TIMEOUT seconds, and a
    cluster command waits up to REDIS_FAILOVER_SECONDS for a master's replica to take over; or
    `timeout` for both and no failover wait (a check that must answer quickly, like /health).
    """
    url = settings.REDIS_CLUSTER_URL or settings.REDIS_URL
    cluster = bool(settings.REDIS_CLUSTER_URL)
    if timeout is None:
        return _client_for(
            url,
            cluster,
            settings.REDIS_CONNECT_TIMEOUT,
            settings.REDIS_TIMEOUT,
            settings.REDIS_FAILOVER_SECONDS,
        )
    return _client_for(url, cluster, timeout, timeout, 0)


@cache
def _client_for(
    url: str, cluster: bool, connect_timeout: float, timeout: float, failover_seconds: float = 0
) -> redis.Redis | RedisCluster:
    options = {
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": timeout,
    }
    if not cluster:
        return redis.Redis.from_url(url, **options)
    try:
        nodes = cluster_nodes(url)
        client = FailoverCluster(startup_nodes=nodes, **options | _cluster_options(url))
    except RedisClusterException as error:
        # No seed answered: an outage like any other (and not cached: the next call tries again).
        raise redis.ConnectionError(f"no node of the Redis Cluster answered: {error}") from error
    client.failover_seconds = failover_seconds
    return client


# The errors of a master gone, or its slots not served yet (CLUSTERDOWN; redirections that
# ran out, "TTL exhausted"), that its replica's promotion ends.
FAILOVER_ERRORS = (redis.ConnectionError, redis.TimeoutError, ClusterError, SlotNotCoveredError)
# Pauses between a command's attempts through a failover: short first (a blip), then often
# enough that a command goes through within a quarter second of the promotion.
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 0.25


class FailoverCluster(RedisCluster):
    """A cluster client whose commands, Lua scripts and pipelines wait out a master's failover.

    redis-py's own retries (REDIS_CLUSTER_RETRIES) re-read the cluster's layout and try again
    at once, without the Retry's backoff: against a killed master they are all spent within
    milliseconds, long before its replica is promoted (cluster-node-timeout plus an election,
    2-3 s here). This waits between attempts, up to `failover_seconds` in all.
    """

    failover_seconds: float = 0

    def execute_command(self, *args, **kwargs):
        return _waiting_out_failover(
            lambda: super(FailoverCluster, self).execute_command(*args, **kwargs),
            self.failover_seconds,
        )

    def pipeline(self, transaction=None, shard_hint=None):
        pipe = super().pipeline(transaction, shard_hint)
        # redis-py builds the pipeline from its client's private state: made here, then given
        # the waiting execute.
        pipe.__class__ = FailoverPipeline
        pipe.failover_seconds = self.failover_seconds
        return pipe


class FailoverPipeline(ClusterPipeline):
    """A cluster pipeline (FailoverCluster.pipeline) sent again, whole, until the failover ends."""

    failover_seconds: float = 0

    def execute(self, raise_on_error: bool = True):
        # redis-py empties the queue after every execute, failed or not: kept to send again.
        queued = list(self._execution_strategy.command_queue)

        def send():
            self._execution_strategy.command_queue = list(queued)
            return super(FailoverPipeline, self).execute(raise_on_error)

        return _waiting_out_failover(send, self.failover_seconds)


def _waiting_out_failover(call, seconds: float):
    """`call()`, again after a pause while it fails as a failover does, for `seconds` at most."""
    deadline = time.monotonic() + seconds
    pause = FIRST_PAUSE
    while True:
        try:
            return call()
        except FAILOVER_ERRORS:
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


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
        # Attempts at once on a fresh view of the cluster (a slot moved, a node replaced);
        # redis-py does not wait between them (FailoverCluster does, between rounds of them).
        "retry": Retry(NoBackoff(), settings.REDIS_CLUSTER_RETRIES),
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
