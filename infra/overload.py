"""Requests this web process turned away with 503 because it was full or its data was out of reach.

Counted here, per process since it started (like the edge limits), shown on /health under
"overload", and logged. Never written to the database: during a rush one audit row per refused
request was one more write each on a database that was already the bottleneck.
"""

import logging
import threading
import time

from infra.metrics import OVERLOADED, count_overloaded

log = logging.getLogger(__name__)

# No slot at the edge within OVERLOAD_WAIT_MS (infra.limits.Admission).
REFUSED = "refused"
# Admitted, but every pooled database connection was in use for DATABASE_POOL_TIMEOUT.
POOL_TIMEOUT = "pool_timeouts"
# The database or Redis not answering (infra.errors.OUTAGES, other than a full pool).
OUTAGE = "outages"
KINDS = (REFUSED, POOL_TIMEOUT, OUTAGE)

# At most one log line a second per kind, saying how many since the last one: a rush refuses
# thousands of requests a second, and as many lines written from the event loop would slow down
# the very process that is full. The running totals are on /health.
LOG_INTERVAL = 1.0

_lock = threading.Lock()  # pool timeouts are counted on the threads that run views
_totals = dict.fromkeys(KINDS, 0)
_unlogged = dict.fromkeys(KINDS, 0)
_logged_at = dict.fromkeys(KINDS, float("-inf"))
# Every kind scraped from the start, at 0: a rate over a series that appears with its first
# refusal misses that refusal.
for _kind in KINDS:
    OVERLOADED.labels(kind=_kind)


def count_overload(kind: str, *, what: str) -> None:
    """Count one request turned away; `what` (the request, the error) goes on the log line."""
    count_overloaded(kind)
    now = time.monotonic()
    with _lock:
        _totals[kind] += 1
        _unlogged[kind] += 1
        if now - _logged_at[kind] < LOG_INTERVAL:
            return
        since_last, total = _unlogged[kind], _totals[kind]
        _unlogged[kind] = 0
        _logged_at[kind] = now
    # Escaped as Django escapes request paths in its own log lines: no forged lines.
    what = what.encode("unicode_escape").decode("ascii")
    log.warning("overload: %s +%d (%d since start), latest: %s", kind, since_last, total, what)


def overload_counts() -> dict[str, int]:
    """{kind: requests turned away since this process started}."""
    with _lock:
        return dict(_totals)
