"""The live seat map of a sold-out showtime whose seats are offered from its waiting list."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from config.asgi import application
from tests.websocket import ORIGIN, close_worker_connections  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_live_map_shows_an_offer_held_and_its_lapse_free(tiny, full, user):
    await sync_to_async(services.join_waitlist)(user=user, showtime=tiny, seats=2)
    communicator = WebsocketCommunicator(application, f"/ws/showtimes/{tiny.pk}/", headers=[ORIGIN])
    assert (await communicator.connect())[0]
    await communicator.receive_from()

    def seats(html: str) -> dict[str, str]:
        return dict(
            (label, state)
            for state, label in re.findall(r'seat--(\w+) [^"]*" id="seat-([A-Z]+\d+)"', html)
        )

    await sync_to_async(services.cancel_booking)(booking=full)
    told = {}
    while told.get("A1") != "held":
        told |= seats(await communicator.receive_from(timeout=5))
    assert told == {"A1": "held", "A2": "held", "A3": "available", "A4": "available"}
    offer = await Booking.objects.aget(user=user)
    await Booking.objects.filter(pk=offer.pk).aupdate(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    await sync_to_async(services.expire_stale_bookings)()
    assert seats(await communicator.receive_from(timeout=5)) == {
        "A1": "available",
        "A2": "available",
    }
    await communicator.disconnect()
