"""The queue page's live feed through the real ASGI application and a Redis channel layer."""

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from conftest import open_waiting_room
from tests.websocket import ORIGIN, close_worker_connections, session_cookie  # noqa: F401 (fixture)
from waitingroom import queue, services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(showtime):
    return open_waiting_room(showtime, max_active=1)


async def _connect(path: str, *headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _ahead(html: str) -> int:
    return int(re.search(r"<strong data-ahead>(\d+)</strong>", html).group(1))


async def _join(showtime, user=None) -> Client:
    def visit():
        client = Client()
        if user is not None:
            client.force_login(user)
        assert client.get(f"/showtimes/{showtime.pk}/queue/").status_code == 200
        return client

    return await sync_to_async(visit)()


async def test_the_place_is_pushed_as_the_queue_moves_until_it_is_their_turn(room, user, bob):
    await _join(room, user)
    await _join(room, bob)
    page = await _connect(f"/ws/queue/{room.pk}/", await session_cookie(bob))
    assert _ahead(await page.receive_from()) == 1  # on connect: the place as it is now
    assert await sync_to_async(services.admit_pass)() == 1  # the first in line goes shopping
    moved = await page.receive_from(timeout=5)
    assert _ahead(moved) == 0 and re.search(r'data-at="\d{13}"', moved)
    # One pass has let people in: no pace yet to promise a time by.
    assert "your wait shows here once the queue is moving" in moved
    # A pass that moves nothing for them sends nothing.
    await sync_to_async(services.admit_pass)()
    assert await page.receive_nothing(timeout=0.3)
    await sync_to_async(services.finished)(showtime=room, user_id=user.pk)
    await sync_to_async(services.admit_pass)()
    turn = await page.receive_from(timeout=5)
    assert "It is your turn." in turn
    # The page fetches its pass and goes to the seats by itself.
    assert f'hx-get="/showtimes/{room.pk}/queue/?go=1" hx-trigger="load"' in turn
    await page.disconnect()


async def test_an_anonymous_visitor_has_no_place_to_watch(room, user):
    """A visitor who has not signed in sees the queue's length on the page and takes no place:
    their live connection is closed (4403), and the page does not open one."""
    await _join(room, user)
    visitor = await sync_to_async(Client().get)(f"/showtimes/{room.pk}/queue/")
    assert 'ws-connect="' not in visitor.text
    page = await _connect(f"/ws/queue/{room.pk}/")
    assert (await page.receive_output())["code"] == 4403


async def test_no_room_or_no_place_is_closed_with_a_clear_code(room, showtime, db):
    stranger = await _connect(f"/ws/queue/{room.pk}/")
    assert (await stranger.receive_output())["code"] == 4403  # never queued: nothing to show
    nowhere = await _connect("/ws/queue/999999/")
    assert (await nowhere.receive_output())["code"] == 4404


async def test_open_pages_keep_an_admitted_shopper_present(room, user):
    await _join(room, user)
    await sync_to_async(services.admit_pass)()
    member = f"u{user.pk}"
    away = f"wr:{{st{room.pk}}}:away"
    client = await sync_to_async(queue.get_redis)()
    seats = await _connect(f"/ws/queue/{room.pk}/?present=1", await session_cookie(user))
    checkout = await _connect(f"/ws/queue/{room.pk}/?present=1", await session_cookie(user))
    assert await seats.receive_nothing(timeout=0.2)  # presence only: nothing is sent
    await seats.disconnect()
    assert await sync_to_async(client.zscore)(away, member) is None  # still one page open
    await checkout.disconnect()
    assert await sync_to_async(client.zscore)(away, member) is not None


def test_far_back_the_place_is_rounded_so_a_pass_changes_few_pages():
    assert services.shown_ahead(57) == (57, False)
    assert services.shown_ahead(123) == (120, True)
    assert services.shown_ahead(2431) == (2400, True)
