"""`/health`: is this web node able to serve? For the load balancer and the image's health check.

200 when this node reaches the database and Redis, 503 otherwise. The workers (sweeper, notifier,
waiting room) are reported in the body but never change the status: they are not part of this node,
and a dead worker must not take every web node out of rotation. Each check waits at most
CHECK_TIMEOUT seconds, so the answer comes well within the health check's own timeout (5 s in the
image) even when the database or Redis swallows packets. A busy node is a healthy one: every pooled
connection in use is the database answering, so it keeps the node in rotation. The body's "overload"
counts the requests this process turned away as busy or for an outage (infra.overload).
"""

from contextlib import suppress

import redis
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from audit.workers import KINDS, worker_status
from infra.health import CHECK_TIMEOUT, database_ok, redis_ok
from infra.overload import overload_counts
from infra.redis import get_redis


def workers(*, redis_up: bool) -> dict[str, str]:
    """{kind: "ok" | "missing"}, or "unknown" while Redis does not answer."""
    if redis_up:
        with suppress(redis.RedisError):
            return worker_status(get_redis(timeout=CHECK_TIMEOUT))
    return dict.fromkeys(KINDS, "unknown")


@never_cache
def health(request):
    checks = {"database": database_ok(), "redis": redis_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in checks.items()})
    body["workers"] = workers(redis_up=checks["redis"])
    body["overload"] = overload_counts()
    return JsonResponse(body, status=200 if healthy else 503)
