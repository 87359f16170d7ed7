"""The live seat map through the real ASGI application and a real Redis channel layer."""

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
from tests.websocket import ORIGIN, close_worker_connections, session_cookie  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(showtime_id, *headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime_id}/", headers=[ORIGIN, *headers]
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
