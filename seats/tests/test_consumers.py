"""The live seat map through the real ASGI application and a real Redis channel layer."""

import asyncio
import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from audit.stream import publish_unpublished
from bookings import services
from bookings.models import Booking
from config.asgi import application
from conftest import pay
from infra.metrics import SEATS_HEALED
from infra.websockets import send_to_group
from seats import holds
from seats.broadcast import Reading, group_name, message
from tests.websocket import ORIGIN, close_worker_connections, session_cookie  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(showtime_id, *headers, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime_id}/{query}", headers=[ORIGIN, *headers]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _seats(html: str) -> dict[str, str]:
    """{label: state} of every seat element in a fragment."""
    return dict(
        (label, state)
        for state, label in re.findall(
            r'class="seat seat--(\w+) [^"]*" id="seat-([A-Z]+\d+)"', html
        )
    )


async def test_connect_sends_the_full_map(showtime):
    communicator = await _connect(showtime.pk)
    html = await communicator.receive_from()
    assert 'id="seatmap-rows" hx-swap-oob="true"' in html
    seats = _seats(html)
    assert len(seats) == 24
    assert seats["A3"] == "available" and seats["C4"] == "blocked"
    await communicator.disconnect()


async def test_another_users_hold_arrives_as_a_fragment_of_just_those_seats(showtime, user):
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3", "A4"])
    html = await communicator.receive_from(timeout=5)
    assert _seats(html) == {"A3": "held", "A4": "held"}
    assert html.count('hx-swap-oob="true"') == 2
    await communicator.disconnect()


async def test_the_holder_sees_their_seats_as_theirs(showtime, user, bob):
    mine = await _connect(showtime.pk, await session_cookie(user))
    theirs = await _connect(showtime.pk, await session_cookie(bob))
    await mine.receive_from()
    await theirs.receive_from()
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["B2"])
    assert _seats(await mine.receive_from(timeout=5)) == {"B2": "mine"}
    assert _seats(await theirs.receive_from(timeout=5)) == {"B2": "held"}
    reconnect = await _connect(showtime.pk, await session_cookie(user))
    assert _seats(await reconnect.receive_from())["B2"] == "mine"
    for communicator in (mine, theirs, reconnect):
        await communicator.disconnect()


async def test_pay_cancel_and_expiry_reach_viewers(showtime, user, bob):
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()

    paid = await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3"])
    await communicator.receive_from(timeout=5)
    await sync_to_async(pay)(paid)
    assert _seats(await communicator.receive_from(timeout=5)) == {"A3": "booked"}

    await sync_to_async(services.cancel_booking)(booking=paid)
    assert _seats(await communicator.receive_from(timeout=5)) == {"A3": "available"}

    held = await sync_to_async(services.hold_seats)(user=bob, showtime=showtime, labels=["B5"])
    await communicator.receive_from(timeout=5)
    await sync_to_async(services.cancel_booking)(booking=held)
    assert _seats(await communicator.receive_from(timeout=5)) == {"B5": "available"}

    stale = await sync_to_async(services.hold_seats)(user=bob, showtime=showtime, labels=["B6"])
    await communicator.receive_from(timeout=5)
    await Booking.objects.filter(pk=stale.pk).aupdate(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    await sync_to_async(services.expire_stale_bookings)()
    assert _seats(await communicator.receive_from(timeout=5)) == {"B6": "available"}
    await communicator.disconnect()


async def test_an_unknown_showtime_is_closed_with_a_clear_code(db):
    communicator = await _connect(999999)
    message = await communicator.receive_output()
    assert message == {"type": "websocket.close", "code": 4404}


async def test_a_foreign_origin_is_refused(showtime):
    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime.pk}/", headers=[(b"origin", b"http://evil.test")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_change_whose_process_died_before_telling_anyone_reaches_viewers_at_the_catch_up(
    showtime, user
):
    """A web node killed between the commit and its after-commit work: nobody was told, and the
    event never reached the stream. The catch-up that appends the event tells the viewers."""
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()

    def hold_then_die():
        with transaction.atomic():
            services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
            transaction.get_connection().run_on_commit.clear()  # the process dies at commit

    await sync_to_async(hold_then_die)()
    assert await communicator.receive_nothing(timeout=0.3)
    assert await sync_to_async(publish_unpublished)(grace=timedelta(0)) == 1
    html = await communicator.receive_from(timeout=5)
    assert _seats(html) == {"A3": "held", "A4": "held"}
    await communicator.disconnect()


async def test_a_process_that_dies_after_its_first_after_commit_step_still_gets_the_news_out(
    showtime, user
):
    """Killed after the first of its after-commit steps: either the viewers were told, or the
    event is still unappended and the catch-up tells them. Telling comes first."""
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()

    def hold_then_die_after_one_step():
        with transaction.atomic():
            services.hold_seats(user=user, showtime=showtime, labels=["A3"])
            del transaction.get_connection().run_on_commit[1:]

    await sync_to_async(hold_then_die_after_one_step)()
    await sync_to_async(publish_unpublished)(grace=timedelta(0))
    html = await communicator.receive_from(timeout=5)
    assert _seats(html) == {"A3": "held"}
    await communicator.disconnect()


def _versions(html: str) -> dict[str, int]:
    """{label: version} of every seat element of a fragment."""
    return {
        label: int(version)
        for label, version in re.findall(
            r'id="seat-([A-Z]+\d+)" hx-swap-oob="true" data-v="(\d+)"', html
        )
    }


def _map_version(html: str) -> int:
    return int(re.search(r'id="seatmap-rows" hx-swap-oob="true" data-v="(\d+)"', html)[1])


def _tell_as_of(showtime, version: int, *seats) -> None:
    """Send the showtime's viewers a message, as a sender whose reading was `version` would."""
    send_to_group(group_name(showtime.pk), message(Reading(version, seats)))


async def test_every_message_carries_the_version_it_was_read_at(showtime, user):
    communicator = await _connect(showtime.pk)
    connected_at = _map_version(await communicator.receive_from())
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3", "A4"])
    held = _versions(await communicator.receive_from(timeout=5))
    assert held.keys() == {"A3", "A4"} and len(set(held.values())) == 1
    assert held["A3"] > connected_at
    reconnected = await _connect(showtime.pk)
    assert _map_version(await reconnected.receive_from()) >= held["A3"]
    for socket in (communicator, reconnected):
        await socket.disconnect()


async def test_a_message_older_than_what_a_page_shows_for_a_seat_is_not_sent(showtime, user):
    """Two senders told the same seat, and the older reading arrives last: the page keeps the
    newer state; the older reading's other seats, newer than what the page shows, still go."""
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3"])
    newer = _versions(await communicator.receive_from(timeout=5))["A3"]
    await sync_to_async(_tell_as_of)(showtime, newer - 1, ("A3", "available", None))
    assert await communicator.receive_nothing(timeout=0.3)
    await sync_to_async(_tell_as_of)(
        showtime, newer - 1, ("A3", "available", None), ("B1", "held", None)
    )
    html = await communicator.receive_from(timeout=5)
    assert _seats(html) == {"B1": "held"} and _versions(html) == {"B1": newer - 1}
    await communicator.disconnect()


async def test_a_change_nobody_told_is_healed_on_the_same_socket(showtime, user, settings):
    """A message lost on the way (or a sender that died before sending it), even behind later
    messages about other seats: the socket's check finds the seat and sends it as it is."""
    settings.SEATMAP_CHECK_SECONDS = 0.2
    healed_before = SEATS_HEALED._value.get()
    mine = await _connect(showtime.pk, await session_cookie(user))
    theirs = await _connect(showtime.pk)
    for socket in (mine, theirs):
        await socket.receive_from()
    token = holds.new_token(user.pk)
    await sync_to_async(holds.hold)(
        showtime_id=showtime.pk, labels=["B2"], token=token, ttl_seconds=60
    )
    assert _seats(await mine.receive_from(timeout=3)) == {"B2": "mine"}
    assert _seats(await theirs.receive_from(timeout=3)) == {"B2": "held"}

    await sync_to_async(holds.release)(showtime_id=showtime.pk, labels=["B2"], token=token)
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A1"])
    assert _seats(await theirs.receive_from(timeout=3)) == {"A1": "held"}
    assert _seats(await theirs.receive_from(timeout=3)) == {"B2": "available"}
    assert await theirs.receive_nothing(timeout=0.6), "a healed socket is left alone"
    assert SEATS_HEALED._value.get() - healed_before == 4  # B2 twice on each socket
    for socket in (mine, theirs):
        await socket.disconnect()


async def test_a_hold_no_booking_owns_is_announced_when_it_lapses(showtime, user, settings):
    """A web process died between its Lua hold and its commit: nothing owns the hold, and when
    it ends by itself the sweeper's pass tells the viewers."""
    communicator = await _connect(showtime.pk)
    await communicator.receive_from()
    token = holds.new_token(user.pk)
    await sync_to_async(holds.hold)(
        showtime_id=showtime.pk, labels=["B4"], token=token, ttl_seconds=1
    )
    assert await sync_to_async(services.announce_lapsed_holds)() == []
    await asyncio.sleep(1.1)
    assert await sync_to_async(services.announce_lapsed_holds)() == [f"{showtime.pk}:B4"]
    assert _seats(await communicator.receive_from(timeout=3)) == {"B4": "available"}
    assert await sync_to_async(services.announce_lapsed_holds)() == []
    await communicator.disconnect()


# The JSON form (`?format=json`), for API clients.


async def _connect_json(showtime_id, *headers) -> tuple[WebsocketCommunicator, dict]:
    """A socket asking for JSON, and the map it is sent first."""
    communicator = await _connect(showtime_id, *headers, query="?format=json")
    return communicator, await communicator.receive_json_from()


def _states(message: dict) -> dict[str, str]:
    return {seat["label"]: seat["state"] for seat in message["seats"]}


async def test_a_json_socket_gets_the_map_as_the_api_has_it_then_each_change(showtime, user):
    communicator, first = await _connect_json(showtime.pk)
    assert (first["type"], first["showtime"]) == ("map", showtime.pk)
    a1 = next(seat for seat in first["seats"] if seat["label"] == "A1")
    assert a1 == {"label": "A1", "row": "A", "number": 1, "kind": "standard", "state": "available"}
    assert len(first["seats"]) == 24 and _states(first)["C4"] == "blocked"

    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3", "A4"])
    change = await communicator.receive_json_from(timeout=5)
    assert change == {
        "type": "seats",
        "version": change["version"],
        "seats": [{"label": "A3", "state": "held"}, {"label": "A4", "state": "held"}],
    }
    assert change["version"] > first["version"]
    await communicator.disconnect()


async def test_a_json_socket_gets_mine_for_the_holder(showtime, user, bob):
    mine, _ = await _connect_json(showtime.pk, await session_cookie(user))
    theirs, _ = await _connect_json(showtime.pk, await session_cookie(bob))
    page = await _connect(showtime.pk, await session_cookie(user))
    await page.receive_from()
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["B2"])
    assert _states(await mine.receive_json_from(timeout=5)) == {"B2": "mine"}
    assert _states(await theirs.receive_json_from(timeout=5)) == {"B2": "held"}
    assert _seats(await page.receive_from(timeout=5)) == {"B2": "mine"}, "the page stays HTML"
    _, again = await _connect_json(showtime.pk, await session_cookie(user))
    assert _states(again)["B2"] == "mine"
    for communicator in (mine, theirs, page):
        await communicator.disconnect()


async def test_a_json_socket_keeps_the_newer_state_of_a_seat(showtime, user):
    communicator, _ = await _connect_json(showtime.pk)
    await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3"])
    newer = (await communicator.receive_json_from(timeout=5))["version"]
    await sync_to_async(_tell_as_of)(
        showtime, newer - 1, ("A3", "available", None), ("B1", "held", None)
    )
    message = await communicator.receive_json_from(timeout=5)
    assert message == {
        "type": "seats",
        "version": newer - 1,
        "seats": [{"label": "B1", "state": "held"}],
    }
    await communicator.disconnect()


async def test_a_json_socket_is_healed_like_a_page(showtime, user, settings):
    settings.SEATMAP_CHECK_SECONDS = 0.2
    communicator, first = await _connect_json(showtime.pk)
    await sync_to_async(holds.hold)(
        showtime_id=showtime.pk, labels=["B4"], token=holds.new_token(user.pk), ttl_seconds=60
    )
    healed = await communicator.receive_json_from(timeout=3)
    assert (healed["type"], _states(healed)) == ("seats", {"B4": "held"})
    assert healed["version"] > first["version"]
    assert await communicator.receive_nothing(timeout=0.6)
    await communicator.disconnect()
