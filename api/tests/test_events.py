"""A showtime's seat changes as Server-Sent Events, through the ASGI application with a real
Redis channel layer and database, and once through a real daphne."""

import http.client
import json
import re
import socket
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
import redis
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from conftest import TEST_REDIS_URL
from infra.websockets import layer_channel
from seats import holds
from seats.broadcast import group_name
from tests.e2e.stack import running_stack
from tests.websocket import close_worker_connections, session_cookie  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _events_path(showtime_id) -> str:
    return f"/api/v1/showtimes/{showtime_id}/seats/events"


def _parse(block: str) -> dict[str, str]:
    """The fields of one block of an event stream (a comment is the field "")."""
    fields = {}
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")
    return fields


class EventStream:
    """A GET of an event stream on the ASGI application: its response's start, then its blocks
    one by one as they arrive."""

    def __init__(self, path: str, *headers: tuple[bytes, bytes]):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.app = ApplicationCommunicator(application, scope)
        self.buffer = ""
        self.ended = False

    async def open(self) -> dict:
        await self.app.send_input({"type": "http.request", "body": b"", "more_body": False})
        return await self.app.receive_output(timeout=5)

    async def block(self, timeout: float = 5) -> dict[str, str] | None:
        """The next block, or None when the stream has ended."""
        while "\n\n" not in self.buffer:
            if self.ended:
                return None
            message = await self.app.receive_output(timeout=timeout)
            self.buffer += message.get("body", b"").decode()
            self.ended = not message.get("more_body", False)
        block, self.buffer = self.buffer.split("\n\n", 1)
        return _parse(block)

    async def event(self, timeout: float = 5) -> tuple[str, int, dict]:
        """The next event (skipping the retry hint and keep-alives): its name, id and data."""
        while "event" not in (block := await self.block(timeout)):
            pass
        return block["event"], int(block["id"]), json.loads(block["data"])

    async def leave(self) -> None:
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(timeout=5)


async def _opened(showtime_id, *headers) -> tuple[EventStream, int, dict]:
    """An open stream, its map's version and its seats' states by label."""
    stream = EventStream(_events_path(showtime_id), *headers)
    start = await stream.open()
    assert start["status"] == 200
    name, version, data = await stream.event()
    assert name == "map" and data["version"] == version
    return stream, version, {seat["label"]: seat["state"] for seat in data["seats"]}


def _subscribers(showtime_id) -> int:
    """How many of the channel layer's processes listen to the showtime's group in Redis."""
    channel, _ = layer_channel(group_name(showtime_id), prefix="asgi", hosts=1)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        return dict(client.pubsub_numsub(channel))[channel.encode()]
    finally:
        client.close()


def _hold_through_the_page(user, showtime, labels) -> None:
    """Hold seats as the seat map page does: its form, posted by the signed-in user."""
    client = Client()
    client.force_login(user)
    response = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": labels})
    assert response.status_code == 303, response.content


async def test_sse_receives_a_hold_made_through_the_page(showtime, user):
    stream, version, seats = await _opened(showtime.pk)
    assert seats["A3"] == "available"
    await sync_to_async(_hold_through_the_page)(user, showtime, ["A3", "A4"])
    name, held_at, data = await stream.event()
    assert name == "seats"
    assert data == {
        "type": "seats",
        "version": held_at,
        "seats": [{"label": "A3", "state": "held"}, {"label": "A4", "state": "held"}],
    }
    assert held_at > version
    await stream.leave()


async def test_the_stream_opens_with_the_map_as_the_api_reads_it(showtime):
    stream = EventStream(_events_path(showtime.pk), (b"accept-encoding", b"gzip"))
    start = await stream.open()
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"text/event-stream"
    assert headers[b"Cache-Control"] == b"no-store"
    assert b"Content-Encoding" not in headers, "events go out as they are written"
    assert (await stream.block())["retry"] == "2000"
    name, version, data = await stream.event()
    read = await sync_to_async(Client().get)(f"/api/v1/showtimes/{showtime.pk}/seats")
    assert name == "map"
    assert data == {"type": "map", **read.json(), "version": version}
    assert read.json()["version"] == version
    await stream.leave()


async def test_the_holders_stream_shows_their_seats_as_mine(showtime, user, bob):
    mine, _, _ = await _opened(showtime.pk, await session_cookie(user))
    theirs, _, _ = await _opened(showtime.pk, await session_cookie(bob))
    await sync_to_async(_hold_through_the_page)(user, showtime, ["B2"])
    assert (await mine.event())[2]["seats"] == [{"label": "B2", "state": "mine"}]
    assert (await theirs.event())[2]["seats"] == [{"label": "B2", "state": "held"}]
    again, _, seats = await _opened(showtime.pk, await session_cookie(user))
    assert seats["B2"] == "mine"
    for stream in (mine, theirs, again):
        await stream.leave()


def test_an_unknown_showtime_is_a_404_problem(client, db):
    response = client.get(_events_path(999999))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["status"]) == ("not_found", 404)


def test_only_get_streams(client, showtime):
    response = client.post(_events_path(showtime.pk))
    assert response.status_code == 405 and response["Allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


async def test_the_stream_ends_after_its_lifetime_and_leaves_the_group(showtime, settings):
    settings.SSE_MAX_SECONDS = 1
    began = time.monotonic()
    stream, _, _ = await _opened(showtime.pk)
    assert await sync_to_async(_subscribers)(showtime.pk) == 1
    while await stream.block(timeout=3) is not None:
        pass
    assert 0.9 <= time.monotonic() - began < 2
    await stream.app.wait(timeout=5)
    assert await sync_to_async(_subscribers)(showtime.pk) == 0


async def test_a_client_that_leaves_ends_its_stream_and_leaves_the_group(showtime):
    stream, _, _ = await _opened(showtime.pk)
    assert await sync_to_async(_subscribers)(showtime.pk) == 1
    await stream.leave()
    assert await sync_to_async(_subscribers)(showtime.pk) == 0


async def test_a_quiet_stream_says_it_is_alive(showtime, monkeypatch):
    monkeypatch.setattr("api.events.KEEPALIVE_SECONDS", 0.2)
    stream, _, _ = await _opened(showtime.pk)
    assert await stream.block() == {"": "keep-alive"}
    await stream.leave()


async def test_a_change_nobody_told_is_healed_on_the_stream(showtime, user, settings):
    """A hold no message announced (a sender that died before telling): the process's check of
    its live maps finds it and sends it on the stream, as on a socket."""
    settings.SEATMAP_CHECK_SECONDS = 0.2
    stream, version, _ = await _opened(showtime.pk)
    await sync_to_async(holds.hold)(
        showtime_id=showtime.pk, labels=["B6"], token=holds.new_token(user.pk), ttl_seconds=60
    )
    name, healed_at, data = await stream.event(timeout=3)
    assert (name, data["seats"]) == ("seats", [{"label": "B6", "state": "held"}])
    assert healed_at > version
    await stream.leave()


async def test_an_open_stream_keeps_no_place_among_the_requests_in_flight(showtime, settings):
    """A stream waits minutes for events: the requests in flight (infra.limits) go on without
    it, or one stream per place would take a web process off the air."""
    settings.WEB_MAX_IN_FLIGHT = 1
    settings.OVERLOAD_WAIT_MS = 0
    stream, _, _ = await _opened(showtime.pk)
    seats = HttpCommunicator(
        application,
        "GET",
        f"/api/v1/showtimes/{showtime.pk}/seats",
        headers=[(b"host", b"testserver")],
    )
    assert (await seats.get_response(timeout=5))["status"] == 200
    await stream.leave()


@pytest.mark.skipif(
    "pool" not in settings.DATABASES["default"].get("OPTIONS", {}),
    reason="needs PostgreSQL's connection pool (DATABASE_URL=postgres://...)",
)
async def test_open_streams_keep_no_pooled_connection(showtime):
    """More streams than the pool has connections are open, and a request still gets one: a
    stream's own reads give their connection back."""
    size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    streams = [(await _opened(showtime.pk))[0] for _ in range(size + 1)]
    seats = HttpCommunicator(
        application,
        "GET",
        f"/api/v1/showtimes/{showtime.pk}/seats",
        headers=[(b"host", b"testserver")],
    )
    assert (await seats.get_response(timeout=5))["status"] == 200
    for stream in streams:
        await stream.leave()


def _read_blocks(response, count: int) -> list[dict[str, str]]:
    """`count` blocks of an event stream being read over HTTP."""
    blocks, lines = [], []
    while len(blocks) < count:
        line = response.readline().decode().rstrip("\n")
        if line:
            lines.append(line)
        elif lines:
            blocks.append(_parse("\n".join(lines)))
            lines = []
    return blocks


HOLD_BY_HAND = (
    "from bookings import services; from cinema.models import Showtime; "
    "from django.contrib.auth import get_user_model; "
    "services.hold_seats(user=get_user_model().objects.get(username='alice'), "
    "showtime=Showtime.objects.get(pk={showtime}), labels=[{label!r}])"
)


def test_a_stream_served_by_daphne_carries_a_hold_and_a_client_leaving_leaves_the_group():
    with running_stack(redis_url=TEST_REDIS_URL, sweepers=0) as stack:
        (base,) = stack
        html = urllib.request.urlopen(f"{base}/movies/paper-lanterns/").read().decode()
        showtime = int(re.search(r'href="/showtimes/(\d+)/"', html).group(1))
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
        connection.request("GET", _events_path(showtime), headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers["Content-Encoding"] is None
        retry, first = _read_blocks(response, 2)
        assert retry == {"retry": "2000"} and first["event"] == "map"
        seats = json.loads(first["data"])["seats"]
        free = next(seat["label"] for seat in seats if seat["state"] == "available")

        stack.manage("shell", "-c", HOLD_BY_HAND.format(showtime=showtime, label=free))
        (change,) = _read_blocks(response, 1)
        assert change["event"] == "seats" and int(change["id"]) > int(first["id"])
        assert json.loads(change["data"])["seats"] == [{"label": free, "state": "held"}]
        assert _subscribers(showtime) == 1

        connection.sock.shutdown(socket.SHUT_RDWR)
        connection.close()
        deadline = time.monotonic() + 5
        while _subscribers(showtime) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _subscribers(showtime) == 0


async def test_streams_are_limited_per_address_as_sockets_are(showtime, settings):
    """One client cannot hold a process's streams open: past WEBSOCKET_MAX_PER_ADDRESS streams
    from one address, one more is a 429 problem; one closed makes room again."""
    settings.WEBSOCKET_MAX_PER_ADDRESS = 2
    first, _, _ = await _opened(showtime.pk)
    second, _, _ = await _opened(showtime.pk)
    refused = EventStream(_events_path(showtime.pk))
    start = await refused.open()
    assert start["status"] == 429
    assert (b"content-type", b"application/problem+json") in start["headers"]
    body = json.loads((await refused.app.receive_output(timeout=5))["body"])
    assert body["code"] == "rate_limited"
    await first.leave()
    third, _, _ = await _opened(showtime.pk)
    for stream in (second, third):
        await stream.leave()
