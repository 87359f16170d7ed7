"""One id per request (or WebSocket connection, or worker pass), on its logs and audit events.

The id comes from `X-Request-ID` when one of TRUSTED_PROXIES sent it and it looks like one, or
is made here (a client must not pick the id that ties log lines and audit events together); it
is echoed on the response so a user can quote it, and it lives in a context variable so the log
filter and `audit.record()` find it without being handed it.
"""

import ipaddress
import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings

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


@lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def from_trusted_proxy(request) -> bool:
    """Whether the connection comes from one of TRUSTED_PROXIES."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def request_id_of(request) -> str:
    """The id a proxy we trust gave the request, else a new one."""
    incoming = request.headers.get(HEADER, "") if from_trusted_proxy(request) else ""
    return incoming if _VALID.match(incoming) else new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_of(request)
        with request_id_scope(request.request_id):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every log record ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return True
