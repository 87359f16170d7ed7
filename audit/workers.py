"""The loop every worker command runs: one pass at a time until SIGTERM or SIGINT.

Each pass runs under its own request id; an unexpected exception is logged and recorded as a
system error, and the worker carries on with the next pass (Redis or the database may be back),
waiting longer after each failure in a row so an outage is not a flood of identical errors.

After every pass, failed or not, the worker leaves a heartbeat in Redis that outlives the wait
before its next pass by HEARTBEAT_GRACE seconds: /health reports a kind of worker (the first word
of its name: "sweeper", "notifier", "waitingroom", "webhooks") with no live heartbeat from any
process as missing.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress

import redis

from audit.services import record_error
from infra.database import drop_dead_connections
from infra.redis import get_redis
from infra.requestid import request_id_scope

# Seconds to wait after the first failed pass; doubled per failure in a row, up to the cap.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
# How long a pass may take before its worker counts as missing.
HEARTBEAT_GRACE = 30.0
# The workers every deployment runs (the compose services, `make run`).
KINDS = ("sweeper", "notifier", "waitingroom", "webhooks")


def run_passes(
    name: str, step: Callable[[], object], *, interval: float, log: logging.Logger
) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("%s started", name)
    failures = 0
    while not stop.is_set():
        with request_id_scope():
            try:
                step()
                failures = 0
            except Exception as error:
                failures += 1
                log.exception("%s pass failed (%d in a row); carrying on", name, failures)
                record_error(name, error)
                # PostgreSQL restarted or failed over: the next pass connects afresh instead of
                # failing on the dead connection forever.
                drop_dead_connections()
        wait = backoff(failures) if failures else interval
        beat(name.split()[0], expires_in=wait + HEARTBEAT_GRACE)
        stop.wait(wait)
    log.info("%s stopped", name)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failed passes in a row."""
    return min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)


def beat(kind: str, *, expires_in: float) -> None:
    """Mark a worker of this kind alive for `expires_in` seconds; never raises."""
    # With Redis down the pass itself fails and says so, and /health reports Redis.
    with suppress(redis.RedisError):
        get_redis().set(_heartbeat_key(kind), time.time(), px=int(expires_in * 1000))


def worker_status(client: redis.Redis) -> dict[str, str]:
    """{kind: "ok" or "missing"} for every kind of worker, read through `client`."""
    alive = client.mget([_heartbeat_key(kind) for kind in KINDS])
    return {kind: "ok" if seen else "missing" for kind, seen in zip(KINDS, alive, strict=True)}


def heartbeat_ages(client: redis.Redis) -> dict[str, float | None]:
    """{kind: seconds since its latest heartbeat, or None with no live one}, read through
    `client`."""
    now = time.time()
    beats = client.mget([_heartbeat_key(kind) for kind in KINDS])
    return {
        kind: None if beat is None else max(0.0, now - float(beat))
        for kind, beat in zip(KINDS, beats, strict=True)
    }


def _heartbeat_key(kind: str) -> str:
    # One hash tag for every kind, so that one MGET reads them all on a Redis Cluster too.
    return f"heartbeat:{{workers}}:{kind}"
