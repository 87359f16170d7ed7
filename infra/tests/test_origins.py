"""WebSocket origins are compared in full (scheme, host and port), through a real daphne too."""

import asyncio

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from conftest import TEST_REDIS_URL
from infra.origins import allowed_origin
from tests.e2e.stack import running_stack


@pytest.fixture(scope="module")
def base():
    with running_stack(redis_url=TEST_REDIS_URL) as (url,):
        yield url


def _first_message(base: str, origin: str) -> str:
    """The first thing a live seat map opened from `origin` receives."""

    async def connect():
        url = base.replace("http", "ws") + "/ws/showtimes/1/"
        async with websockets.connect(url, origin=origin) as socket:
            return await asyncio.wait_for(socket.recv(), 5)

    return asyncio.run(connect())


def test_the_sites_own_origin_is_accepted(base):
    assert 'id="seat-' in _first_message(base, base)


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:9999", "https://{hostport}", "http://evil.test:{port}", "null"],
)
def test_another_port_scheme_or_host_is_refused(base, origin):
    hostport = base.removeprefix("http://")
    origin = origin.format(hostport=hostport, port=hostport.rsplit(":", 1)[1])
    with pytest.raises(InvalidStatus) as refused:
        _first_message(base, origin)
    assert refused.value.response.status_code == 403


def _scope(origin: str | None, host: str = "cinema.example.com") -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "headers": headers}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://cinema.example.com", True),
        ("https://cinema.example.com:443", True),
        ("https://Cinema.Example.com", True),
        ("https://cinema.example.com:8443", False),
        # The Host header says cinema.example.com, but with DEBUG off only configured origins count.
        ("http://cinema.example.com", False),
        ("https://box.example.org", True),
        ("https://example.org", True),
        ("http://box.example.org", False),
        ("https://example.org.evil.test", False),
        ("null", False),
        (None, False),
    ],
)
def test_with_debug_off_only_the_configured_origins_are_trusted(settings, origin, allowed):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["cinema.example.com"]
    settings.SITE_URL = "https://cinema.example.com"
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org"]
    assert allowed_origin(_scope(origin)) is allowed


def test_with_debug_on_the_address_the_socket_was_opened_at_counts(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    assert allowed_origin(_scope("http://localhost:8123", host="localhost:8123"))
    assert not allowed_origin(_scope("http://localhost:8124", host="localhost:8123"))
    # A Host the site does not serve never vouches for itself.
    assert not allowed_origin(_scope("http://evil.test:8123", host="evil.test:8123"))
