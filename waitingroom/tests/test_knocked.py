"""An on-sale's crowd turned away busy by a full queue lane keeps its place in line: the busy
answer carries the moment each visitor first knocked (infra.limits), signed for that page and
session, and the visit that gets in joins the queue from then.

Through the whole ASGI application, as a browser meets it: the lane is filled by a request whose
body has not all arrived (Django reads the whole body before any view)."""

import time
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core import signing
from django.test import Client

from config.asgi import application
from conftest import open_waiting_room
from infra.limits import KNOCK_KEPT_SECONDS, KNOCKED, knocked_at
from waitingroom import queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def full_queue_lane(settings):
    """The queue's lane has one place, and a visitor is turned away after 0.3 s of waiting."""
    settings.ROOM_MAX_IN_FLIGHT = 1
    settings.ROOM_WAIT_MS = 300


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _scope(path: str, cookie: str, method: str = "GET") -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _visit(path: str, cookie: str) -> tuple[int, dict, str]:
    """One GET of the page: its status, its Set-Cookie headers by name, and its body."""
    communicator = ApplicationCommunicator(application, _scope(path, cookie))
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = (await communicator.receive_output(timeout=10)).get("body", b"")
    await communicator.wait(timeout=10)
    set_cookies = {
        value.decode().split("=", 1)[0]: value.decode()
        for name, value in start["headers"]
        if name == b"set-cookie"
    }
    return start["status"], set_cookies, body.decode()


async def _lane_taken(path: str) -> ApplicationCommunicator:
    """A visit in the queue's only place, still sending its body."""
    communicator = ApplicationCommunicator(application, _scope(path, "", method="POST"))
    await communicator.send_input({"type": "http.request", "body": b"a=", "more_body": True})
    await communicator.receive_nothing(timeout=0.2)
    return communicator


async def _lane_freed(communicator: ApplicationCommunicator) -> None:
    await communicator.send_input({"type": "http.request", "body": b"1"})
    await communicator.receive_output(timeout=10)  # 405: the queue page is a GET
    await communicator.wait(timeout=10)


def _ahead(showtime, user) -> int:
    return queue.place(showtime_id=showtime.pk, member=f"u{user.pk}").ahead


def test_a_visitor_turned_away_busy_joins_the_queue_from_when_they_first_knocked(
    showtime, user, bob, full_queue_lane
):
    room = open_waiting_room(showtime)
    path = f"/showtimes/{room.pk}/queue/"
    ann, bobs = f"sessionid={_session(user)}", f"sessionid={_session(bob)}"

    async def on_sale():
        taken = await _lane_taken(path)
        status, cookies, page = await _visit(path, ann)  # Ann knocks first, and is turned away
        assert status == 503 and KNOCKED in cookies
        assert "Your place in the queue is kept" in page
        assert f"Path={path}" in cookies[KNOCKED] and "HttpOnly" in cookies[KNOCKED]
        await _lane_freed(taken)
        assert (await _visit(path, bobs))[0] == 200  # Bob comes after her, and is served
        knock = cookies[KNOCKED].split(";")[0]
        assert (await _visit(path, f"{ann}; {knock}"))[0] == 200  # Ann's page tries again

    async_to_sync(on_sale)()
    assert _ahead(room, user) == 0
    assert _ahead(room, bob) == 1


def test_a_knock_counts_only_for_its_own_session_and_page_and_not_for_long(
    showtime, user, bob, full_queue_lane
):
    room = open_waiting_room(showtime)
    path = f"/showtimes/{room.pk}/queue/"
    ann = f"sessionid={_session(user)}"

    async def knocked() -> str:
        taken = await _lane_taken(path)
        _, cookies, _ = await _visit(path, ann)
        await _lane_freed(taken)
        return cookies[KNOCKED].split(";")[0]

    knock = async_to_sync(knocked)()
    scope = _scope(path, f"{ann}; {knock}")
    first = knocked_at(scope)
    assert first is not None and first <= time.time() * 1000
    # Another session, another showtime's page, a forged or a stale knock: none counts.
    assert knocked_at(_scope(path, f"sessionid={_session(bob)}; {knock}")) is None
    assert knocked_at(_scope(f"/showtimes/{room.pk + 1}/queue/", f"{ann}; {knock}")) is None
    assert knocked_at(_scope(path, f"{ann}; {KNOCKED}=1000:forged:sig")) is None
    assert knocked_at(_scope(path, f"{knock}")) is None  # signed out
    later = time.time() + KNOCK_KEPT_SECONDS + 1
    with mock.patch.object(signing.time, "time", return_value=later):
        assert knocked_at(scope) is None
    # Nor does anyone get a knock without a session (they must sign in to take a place).

    async def signed_out() -> dict:
        taken = await _lane_taken(path)
        _, cookies, page = await _visit(path, "")
        await _lane_freed(taken)
        assert "Your place in the queue is kept" not in page
        return cookies

    assert KNOCKED not in async_to_sync(signed_out)()
    assert queue.place(showtime_id=room.pk, member=f"u{user.pk}") is None
