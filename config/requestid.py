"""One id per request (or WebSocket connection, or worker pass), on its logs and audit events.

The id comes from a trusted proxy's `X-Request-ID` when it looks like one, or is made here; it is
echoed on the response so a user can quote it, and it lives in a context variable so the log
filter and `audit.record()` find it without being handed it.
"""

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_current: ContextVar[str] = ContextVar("request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return _current.get()


@contextmanager
def request_id_scope(request_id: str | None = None):
    """Run a block (a worker pass, a WebSocket connection) under one request id."""
    token = _current.set(request_id or new_request_id())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request.request_id = incoming if _VALID.match(incoming) else new_request_id()
        with request_id_scope(request.request_id):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every log record ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return True
