"""A showtime's seat changes as Server-Sent Events: GET /api/v1/showtimes/<id>/seats/events.

A plain async Django view, not a ninja operation (ninja answers whole bodies), mounted in
config/urls.py before the API so that it wins. A stream waits minutes for events: it keeps no
thread, no database connection and no place among the requests in flight (infra.limits) while
it waits, and it goes out uncompressed (infra.compression), each event as it is written.

The stream is a live map of the showtime (seats.subscriptions), the one the WebSocket's
`?format=json` sends: first an event `map` (every seat as GET /showtimes/<id>/seats has it, with
the version), then an event `seats` for each change and each heal, with only the seats newer
than what this client was sent. Each event's `id` is its version; of two messages about a seat,
the higher version wins. A comment every KEEPALIVE_SECONDS keeps proxies from dropping a quiet
stream. A stream lasts at most SSE_MAX_SECONDS, ending somewhere in its last tenth so that
streams opened together do not all come back together; the client then reconnects after
`retry` and gets the whole map again (Last-Event-ID is not needed: the map is the resync). A
client that leaves ends its stream at once (Django cancels it) and its subscription leaves the
showtime's group.

Anyone may watch, as anyone may see the seat map; the caller's own held seats (signed in by
session or API token) are `mine`.
"""

import asyncio
import logging
import random
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import Http404, StreamingHttpResponse

from api.auth import caller
from api.problems import problem
from api.public import showtime_or_404
from cinema.models import Showtime
from cinema.plans import Plan, get_plan
from seats.subscriptions import Subscription

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/event-stream"
# How long a client waits before it reconnects, once a stream has ended (milliseconds).
RETRY_MS = 2000
KEEPALIVE_SECONDS = 15
KEEPALIVE = ": keep-alive\n\n"


async def seat_events(request, showtime_id: int):
    if request.method != "GET":
        response = problem(405, "method_not_allowed", "Only GET streams the seat changes.")
        response["Allow"] = "GET"
        return response
    try:
        showtime, plan, viewer_id = await database_sync_to_async(_watched)(request, showtime_id)
    except Http404 as error:
        return problem(404, "not_found", str(error))
    subscription = Subscription(showtime=showtime, plan=plan, viewer_id=viewer_id, frame=event)
    response = StreamingHttpResponse(_stream(subscription), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    # nginx would otherwise hold the events back to fill its buffer.
    response["X-Accel-Buffering"] = "no"
    return response


def event(name: str, version: int, data: str) -> str:
    """One event of the stream (`data` is one line of JSON)."""
    return f"id: {version}\nevent: {name}\ndata: {data}\n\n"


def _watched(request, showtime_id: int) -> tuple[Showtime, Plan, int | None]:
    """The showtime, its plan, and who watches (as GET .../seats knows them: token or session)."""
    showtime = showtime_or_404(showtime_id)
    return showtime, get_plan(showtime.auditorium), getattr(caller(request), "pk", None)


async def _stream(subscription: Subscription):
    ends = time.monotonic() + settings.SSE_MAX_SECONDS * random.uniform(0.9, 1)  # noqa: S311
    try:
        await subscription.open()
        yield f"retry: {RETRY_MS}\n\n"
        while (left := ends - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(min(KEEPALIVE_SECONDS, left)):
                    message = await subscription.outbox.get()
            except TimeoutError:
                yield KEEPALIVE
                continue
            if message is None:
                return
            yield message
    except Exception:
        # The response has begun: the stream can only end, and its client come back.
        log.exception(
            "seat events of showtime %s: the stream failed", subscription.watch.showtime.pk
        )
    finally:
        await subscription.close()
