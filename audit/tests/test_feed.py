"""The staff audit feed over a real WebSocket, a real Redis channel layer and a real database."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from audit.consumers import FORBIDDEN
from audit.models import AuditEvent
from bookings import services
from config.asgi import application
from tests.websocket import ORIGIN, close_worker_connections, session_cookie  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


async def _feed(user=None, query: str = "") -> WebsocketCommunicator:
    headers = [ORIGIN]
    if user is not None:
        headers.append(await session_cookie(user))
    path = "/ws/staff/audit/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.parametrize("who", ["anonymous", "customer"])
async def test_non_staff_are_told_they_are_forbidden(who, user):
    # Accepted first, then closed: a browser sees a refused handshake as 1006, never the code.
    communicator = await _feed(None if who == "anonymous" else user)
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": FORBIDDEN,
    }


async def test_a_new_event_reaches_a_connected_staff_feed(staff_user, user, showtime):
    communicator = await _feed(staff_user)
    connected, _ = await communicator.connect()
    assert connected

    booking = await sync_to_async(services.hold_seats)(
        user=user, showtime=showtime, labels=["A3", "A4"]
    )

    row = await communicator.receive_from(timeout=5)
    event = await AuditEvent.objects.aget(booking_ref=booking.ref, kind=AuditEvent.Kind.HOLD_PLACED)
    assert f'id="audit-event-{event.pk}"' in row
    assert 'data-kind="hold_placed"' in row
    assert booking.ref in row and "A3, A4" in row
    await communicator.disconnect()


async def test_the_kind_filter_narrows_the_live_feed(staff_user, user, showtime):
    communicator = await _feed(staff_user, "kind=seats_released")
    connected, _ = await communicator.connect()
    assert connected

    booking = await sync_to_async(services.hold_seats)(user=user, showtime=showtime, labels=["A3"])
    assert await communicator.receive_nothing(timeout=0.5)  # the hold is not what was asked for
    await sync_to_async(services.cancel_booking)(booking=booking)

    row = await communicator.receive_from(timeout=5)
    assert 'data-kind="seats_released"' in row and booking.ref in row
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
