"""Is this web node able to serve? The answer `/health` and the API's `/api/v1/health` give.

Healthy when this node reaches the database and Redis. The workers (audit.workers.KINDS)
are reported but never make the node unhealthy: they are not part of it, and a dead worker
must not take every web node out of rotation. Each check waits at most CHECK_TIMEOUT seconds.
"overload" counts the requests this process turned away as busy or for an outage.
"""

from contextlib import suppress

import redis

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


def report() -> tuple[bool, dict]:
    """(healthy, the body that says so)."""
    checks = {"database": database_ok(), "redis": redis_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in checks.items()})
    body["workers"] = workers(redis_up=checks["redis"])
    body["overload"] = overload_counts()
    return healthy, body
