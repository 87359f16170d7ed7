"""The loop every worker command runs: one pass at a time until SIGTERM or SIGINT.

Each pass runs under its own request id; an unexpected exception is logged and recorded as a
system error, and the worker carries on with the next pass (Redis or the database may be back).
"""

import logging
import signal
import threading
from collections.abc import Callable

from audit.services import record_error
from config.requestid import request_id_scope


def run_passes(
    name: str, step: Callable[[], object], *, interval: float, log: logging.Logger
) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("%s started", name)
    while not stop.is_set():
        with request_id_scope():
            try:
                step()
            except Exception as error:
                log.exception("%s pass failed; carrying on", name)
                record_error(name, error)
        stop.wait(interval)
    log.info("%s stopped", name)
