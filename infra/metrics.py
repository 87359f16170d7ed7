"""The Prometheus figures each part of the site counts as things happen, in this process (the
`/metrics` endpoint, config.metrics, adds what it reads when scraped)."""

from prometheus_client import Counter, Gauge, Histogram

RESPONSES = Counter(
    "cinema_http_responses", "HTTP responses this node sent, by status code.", ["status"]
)
HOLDS = Counter(
    "cinema_holds",
    "Hold requests by outcome: held, or the refusal's status (409 a seat is taken).",
    ["outcome"],
)
HOLD_SECONDS = Histogram(
    "cinema_hold_seconds",
    "Time the hold view took, from the request's admission to its answer (held or refused).",
    # From a hold answered by one Lua call (a few ms) to one that rode through a Redis failover.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OVERLOADED = Counter(
    "cinema_overload_responses",
    "Requests answered 503 by kind (infra.overload): refused (no place at the edge, the busy "
    "page), pool_timeouts (no database connection, the busy page), outages (the try again page).",
    ["kind"],
)
WEBSOCKETS = Gauge("cinema_websocket_connections", "WebSocket connections open on this node.")
SEATS_HEALED = Counter(
    "cinema_seatmap_seats_healed",
    "Seats a live seat map showed otherwise than the truth, sent again by its socket's check "
    "(a lost message, a sender that died before telling).",
)


class CountResponses:
    """ASGI: count every HTTP response by its status, and every WebSocket connection while it is
    open. Outermost, so that the busy answers of the edge are counted too."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def counted_send(message):
            if message["type"] == "http.response.start":
                RESPONSES.labels(status=str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted_send)

    async def _websocket(self, scope, receive, send):
        accepted = False

        async def counted_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKETS.inc()
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        finally:
            if accepted:
                WEBSOCKETS.dec()


def count_hold(outcome: str) -> None:
    HOLDS.labels(outcome=outcome).inc()


def time_hold():
    """A decorator: the view's time goes into the hold histogram."""
    return HOLD_SECONDS.time()


def count_overloaded(kind: str) -> None:
    OVERLOADED.labels(kind=kind).inc()


def count_healed(seats: int) -> None:
    SEATS_HEALED.inc(seats)
