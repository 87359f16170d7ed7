"""The loop every worker command runs: one pass at a time until SIGTERM or SIGINT.

Each pass runs under its own request id; an unexpected exception is logged and recorded as a
system error, and the worker carries on with the next pass (Redis or the database may be back),
waiting longer after each failure in a row so an outage is not a flood of identical errors.
"""

import logging
import signal
import threading
from collections.abc import Callable

from audit.services import record_error
from config.requestid import request_id_scope

# Seconds to wait after the first failed pass; doubled per failure in a row, up to the cap.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0


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
        stop.wait(backoff(failures) if failures else interval)
    log.info("%s stopped", name)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failed passes in a row."""
    return min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
