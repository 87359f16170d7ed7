"""Prometheus metrics of this web node, at `/metrics` for whoever holds METRICS_TOKEN.

Counted as they happen, in this process (infra.metrics): HTTP responses by status (the edge's
busy answers included: `CountResponses` wraps everything), 503s by kind (busy or outage), holds
by outcome and the hold view's time, WebSocket connections open, seats the live seat maps' checks
healed.
Read when scraped: the database pool's connections in use, its size and the requests waiting for
it, the Redis pool's connections in use here, and, from Redis and the database (shared by every
node, so any node's scrape gives them), each open waiting room's length and admission rate, the
event stream's lag behind the notifier, and each kind of worker's heartbeat.

Off (404) while METRICS_TOKEN is empty. Scrape each node at its own address (the load balancer
refuses `/metrics`): the figures are per process.
"""

import hmac
import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from redis.cluster import RedisCluster

log = logging.getLogger(__name__)


class ReadAtScrape(Collector):
    """Figures read when scraped; each group of them skipped (and logged) if its source fails."""

    def describe(self):
        # Registering asks a collector without `describe` to collect once, at import: that would
        # read the database (and open its pool) before the settings are final.
        return []

    def collect(self):
        for read in (_pools, _waiting_rooms, _stream, _workers):
            try:
                yield from read()
            except Exception as error:
                log.warning("metrics: %s not read: %s", read.__name__.strip("_"), error)


def _pools():
    database = GaugeMetricFamily(
        "cinema_db_pool_connections_in_use",
        "Database connections of this node's pool lent to requests (0 without the pool).",
    )
    pool = getattr(connection, "pool", None)
    stats = pool.get_stats() if pool is not None else {}
    database.add_metric([], stats.get("pool_size", 0) - stats.get("pool_available", 0))
    yield database
    most = GaugeMetricFamily(
        "cinema_db_pool_connections_max",
        "Database connections this node's pool may open (0 without the pool).",
    )
    most.add_metric([], stats.get("pool_max", 0))
    yield most
    waiting = GaugeMetricFamily(
        "cinema_db_pool_requests_waiting",
        "Requests of this node waiting for a pooled database connection right now.",
    )
    waiting.add_metric([], stats.get("requests_waiting", 0))
    yield waiting
    from infra.redis import get_redis

    redis_in_use = GaugeMetricFamily(
        "cinema_redis_pool_connections_in_use",
        "Connections of this node's Redis pool (holds, waiting room, stream) in use.",
    )
    client = get_redis()
    nodes = client.get_nodes() if isinstance(client, RedisCluster) else [client]
    pools = [getattr(node, "redis_connection", node).connection_pool for node in nodes]
    redis_in_use.add_metric([], sum(len(getattr(p, "_in_use_connections", ())) for p in pools))
    yield redis_in_use


def _waiting_rooms():
    from waitingroom import queue, services

    queued = GaugeMetricFamily(
        "cinema_waiting_room_queued", "People in a waiting room's queue.", labels=["showtime"]
    )
    shopping = GaugeMetricFamily(
        "cinema_waiting_room_shopping",
        "Shoppers a waiting room has let in whose time has not run out.",
        labels=["showtime"],
    )
    rate = GaugeMetricFamily(
        "cinema_waiting_room_admitted_per_minute",
        "People a waiting room let in a minute, over the last minute.",
        labels=["showtime"],
    )
    # The rooms the worker serves, at most a bounded few per scrape.
    for showtime in services.open_rooms().order_by("starts_at")[: settings.METRICS_MAX_ROOMS]:
        label = [str(showtime.pk)]
        waiting, active = queue.sizes(showtime_id=showtime.pk)
        queued.add_metric(label, waiting)
        shopping.add_metric(label, active)
        rate.add_metric(label, services.pace(showtime) or 0)
    yield from (queued, shopping, rate)


def _stream():
    from audit.notifier import GROUP
    from audit.stream import stream_name
    from infra.redis import get_redis

    lag = GaugeMetricFamily(
        "cinema_event_stream_lag",
        "Entries on the event stream the notifier's group has not read yet.",
    )
    pending = GaugeMetricFamily(
        "cinema_event_stream_pending",
        "Entries the notifier's group has read but not acknowledged yet.",
    )
    client = get_redis()
    groups = client.xinfo_groups(stream_name()) if client.exists(stream_name()) else []
    group = next((group for group in groups if group["name"] == GROUP), None)
    # No group yet: all of the stream is unread. Redis reports no lag when it cannot tell
    # (entries deleted from the middle): the length then, an upper bound.
    unread = group and group.get("lag")
    lag.add_metric([], unread if unread is not None else client.xlen(stream_name()))
    pending.add_metric([], group["pending"] if group else 0)
    yield from (lag, pending)


def _workers():
    from audit.workers import heartbeat_ages
    from infra.redis import get_redis

    up = GaugeMetricFamily(
        "cinema_worker_up",
        "1 while some process of this kind of worker has a live heartbeat, else 0.",
        labels=["kind"],
    )
    age = GaugeMetricFamily(
        "cinema_worker_heartbeat_age_seconds",
        "Seconds since the latest heartbeat of this kind of worker (while it has a live one).",
        labels=["kind"],
    )
    for kind, seconds in heartbeat_ages(get_redis()).items():
        up.add_metric([kind], 0 if seconds is None else 1)
        if seconds is not None:
            age.add_metric([kind], seconds)
    yield from (up, age)


REGISTRY.register(ReadAtScrape())


@never_cache
def metrics(request):
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not token:
        raise Http404("Metrics are off (METRICS_TOKEN is not set).")
    if not hmac.compare_digest(given.encode(), token.encode()):
        refused = HttpResponse(
            "A token is needed: Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain",
        )
        refused["WWW-Authenticate"] = "Bearer"
        return refused
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
