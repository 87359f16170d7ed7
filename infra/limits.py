"""Limits at the ASGI edge, before Django or a consumer spends anything on a client.

Admission: at most WEB_MAX_IN_FLIGHT HTTP requests inside Django at once, per web process; one
more waits for a place when the process can give it one within OVERLOAD_WAIT_MS (the wait a buyer
accepts), judged by how many wait before it and how fast places have come free lately, and is
otherwise answered at once with 503, a Retry-After of a few seconds and the busy page
(infra.errors.busy_page), without Django's views, the database or Redis. A burst the process
serves in time is served: shedding after a fixed quarter of a second turned away 25 of 60 buyers
pressing Hold at once on two processes that served them all within a second. A full server must
say so quickly and cheaply: before any of this, every request of a rush waited its turn on the
database pool and ended in a 500; and a request that cannot be served in time is told at once,
not after waiting in vain. A buyer paying for held seats
waits longer for a place (PAYING_WAIT_MS): turned away, their hold could run out while the
provider takes the money, and they would be refunded instead of seated. /health (the load balancer
must keep a busy node in rotation), static files, media and the payment webhook (money) are
never turned away. The waiting room's queue page has a lane of its own (ROOM_MAX_IN_FLIGHT
requests at once, waiting up to ROOM_WAIT_MS, in arrival order): an on-sale's crowd joining the
queue waits its turn there instead of being turned away (a refused arrival would lose its place
in line) or taking the places of the shoppers it has let in. An event stream (api.events) gives
its place back as soon as its response begins: it then only waits for events, for minutes, and
would otherwise keep a place from every other request all that time. A visitor the queue's lane
turns away busy keeps the moment they first knocked: the busy answer carries it (`KNOCKED`,
signed, for that page and session alone) and their next try, within KNOCK_KEPT_SECONDS, is
stamped with it, so they join the line where they would have.

Request bodies: over MAX_REQUEST_BODY_BYTES is 413, told by Content-Length at once, or as soon as
a streamed (chunked) body passes the limit. WebSockets: at most WEBSOCKET_MAX_PER_ADDRESS open at
once per client address and WEBSOCKET_MAX_PER_SESSION per session cookie, counted in this process
(so the limits apply per web process); one more is accepted and closed with TOO_MANY_SOCKETS,
because a browser shows a refused handshake as 1006 and never the reason. The seat map's event
streams, open for minutes as sockets are, have the same limits of their own (a 429 beyond).

Under daphne the body limit must also hold inside the server: see limit_daphne_request_bodies.
"""

import asyncio
import logging
import re
import secrets
import statistics
import sys
import time
from collections import Counter, deque
from urllib.parse import parse_qsl, quote

from django.conf import settings
from django.core import signing
from django.http.cookie import parse_cookie

from infra.csp import build_policy
from infra.errors import RESUBMIT_MAX_BYTES, busy_page, busy_retry_after
from infra.overload import REFUSED, count_overload
from infra.problems import CONTENT_TYPE, problem

log = logging.getLogger(__name__)

# Never turned away: the load balancer's check, and the gateway telling us about money. The
# webhook still waits at most DATABASE_POOL_TIMEOUT for a connection like any request.
ADMISSION_EXEMPT_PATHS = frozenset({"/health", "/metrics", "/payments/webhook/"})
# The scope key of the moment (epoch ms) a request reached this edge: the waiting room queues by
# it, not by when the request was served.
ARRIVED = "arrived_ms"
# The cookie in which a queue page's busy answer keeps when the visitor first knocked, and how
# long it is kept for their next try (the busy page tries again after a few seconds).
KNOCKED = "knocked"
KNOCK_KEPT_SECONDS = 120
# The waiting room's queue page, joined or asked again (waitingroom.urls).
QUEUE_PAGE = re.compile(r"/showtimes/\d+/queue/")
TAKING_TURN = b"go=1"
# A buyer paying: the pay button (page and API), the provider's checkout page served here (Stripe's
# with Stripe.js, the mock's), and the page the provider sends them back to.
PAYING = re.compile(
    r"(/api/v1)?/bookings/\w+/pay/?|/bookings/\w+/paid/"
    r"|/payments/stripe/checkout/[^/]+/|/mock-gateway/checkout/[^/]+/(authenticate/)?"
)
# An event stream leaves its place once its response has begun: it lasts minutes, waiting.
EVENT_STREAM = b"text/event-stream"
# The seat map's event streams (api.events), limited per address and session as sockets are.
EVENT_STREAM_PATH = re.compile(r"/api/v1/showtimes/\d+/seats/events")
# How long a refused POST may take to hand over its body for the busy page to send it again.
# Daphne has it all before the application is called; other servers may still be reading it.
REFUSED_BODY_WAIT_SECONDS = 1.0
# How many of the latest hand-overs of a full lane its pace is the mean of: a few seconds of a
# rush, so the pace follows the load of the moment.
PACE_SAMPLES = 100

# Close code for a WebSocket over its address's or session's limit (4000-4999 are ours).
TOO_MANY_SOCKETS = 4429


class BodyTooLarge(Exception):
    """The client sent more body than MAX_REQUEST_BODY_BYTES."""


class RequestBodyLimit:
    """Refuse HTTP request bodies over MAX_REQUEST_BODY_BYTES with 413, before Django reads them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = settings.MAX_REQUEST_BODY_BYTES
        if scope["type"] != "http" or not limit:
            return await self.app(scope, receive, send)
        declared = scope_header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)

        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)


class Admission:
    """At most WEB_MAX_IN_FLIGHT HTTP requests inside the application at once, in this process;
    the rest wait for a place if one can come within OVERLOAD_WAIT_MS (a buyer paying waits up to
    PAYING_WAIT_MS whatever the queue), else get the busy page (503) at once."""

    def __init__(self, app):
        self.app = app
        self.lanes: dict[str, tuple[object, Lane]] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _admission_exempt(scope):
            return await self.app(scope, receive, send)
        scope[ARRIVED] = time.time() * 1000
        name, limit, wait_ms = "web", settings.WEB_MAX_IN_FLIGHT, settings.OVERLOAD_WAIT_MS
        # Only a shopper's request is turned away for a long queue: the queue page's crowd keeps
        # its order, and a buyer paying for held seats would lose them.
        in_time_only = True
        if settings.ROOM_MAX_IN_FLIGHT and _joining_the_queue(scope):
            name, limit, wait_ms = "queue", settings.ROOM_MAX_IN_FLIGHT, settings.ROOM_WAIT_MS
            in_time_only = False
            knocked = knocked_at(scope)
            if knocked is not None:
                scope[ARRIVED] = min(scope[ARRIVED], knocked)
        elif PAYING.fullmatch(scope["path"]):
            wait_ms = max(wait_ms, settings.PAYING_WAIT_MS)
            in_time_only = False
        if not limit:
            return await self.app(scope, receive, send)
        lane = self._lane(name, limit)
        if not await lane.enter(wait_ms / 1000, in_time_only=in_time_only):
            count_overload(REFUSED, what=f"{scope['method']} {scope['path']}")
            return await _busy(scope, receive, send, knocked=name == "queue")
        held = True

        def release():
            nonlocal held
            if held:
                held = False
                lane.leave()

        async def admitted_send(message):
            if message["type"] == "http.response.start" and _event_stream(message):
                release()
            await send(message)

        try:
            await self.app(scope, receive, admitted_send)
        finally:
            # However the request ended: answered, failed, or cancelled when the client left.
            release()

    def _lane(self, name: str, limit: int) -> "Lane":
        # Daphne runs one event loop for good; tests run one per test, and change the limit.
        key = (asyncio.get_running_loop(), limit)
        made_for, lane = self.lanes.get(name, (None, None))
        if made_for != key:
            lane = Lane(limit)
            self.lanes[name] = (key, lane)
        return lane


class Lane:
    """The places of one lane, the requests waiting for one, and the pace at which places have
    come free lately while requests waited.

    The pace is measured, not modelled: the time from one place coming free to the next while
    the lane stayed full, the mean of the latest PACE_SAMPLES. It is the lane's service time
    per request at full load, whatever a request spends its time on (the GIL, the database, a
    Redis round trip), so a queue of n drains in about n times the pace. The mean, not the
    median: requests let in together share the GIL and end together, a few milliseconds apart,
    then the next ones take as long again; the median of those gaps was a fraction of the real
    pace and let in queues several times longer than the bound. A lane that has never been full
    has no pace yet and lets every request wait (up to its bound).
    """

    def __init__(self, limit: int):
        self.places = asyncio.Semaphore(limit)
        self.waiting = 0
        self.gaps: deque[float] = deque(maxlen=PACE_SAMPLES)
        self.pace: float | None = None
        self.last_handover: float | None = None

    def expected_wait(self) -> float:
        """Seconds one more request would wait for a place: those ahead of it and itself, each
        served at the lane's pace; 0 while no pace is known."""
        return (self.waiting + 1) * (self.pace or 0)

    async def enter(self, wait: float, *, in_time_only: bool) -> bool:
        """Take a place, waiting at most `wait` seconds; whether one was taken. With
        `in_time_only`, a request the pace says cannot have one within `wait` does not wait."""
        if not self.places.locked():
            return await self.places.acquire()
        if wait <= 0 or (in_time_only and self.expected_wait() > wait):
            return False
        self.waiting += 1
        try:
            # Cancelled in time, acquire() gives back a place it was handed at the last moment.
            return await asyncio.wait_for(self.places.acquire(), wait)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def leave(self) -> None:
        """Give a place back; when a request was waiting for it, the lane stayed full: time it."""
        now = time.monotonic()
        if not self.waiting:
            self.last_handover = None
        else:
            if self.last_handover is not None:
                self.gaps.append(now - self.last_handover)
                self.pace = statistics.fmean(self.gaps)
            self.last_handover = now
        self.places.release()


def _event_stream(start: dict) -> bool:
    """An event stream's response has begun: what is left of the request is a long wait for
    events (api.events), with neither a thread nor a database connection of its own."""
    return any(
        key.lower() == b"content-type" and value.startswith(EVENT_STREAM)
        for key, value in start.get("headers", ())
    )


def _joining_the_queue(scope) -> bool:
    """The queue page, but not a shopper let in taking their pass (`?go=1`): a shopper's
    request, in the shoppers' lane."""
    return bool(QUEUE_PAGE.fullmatch(scope["path"])) and TAKING_TURN not in scope.get(
        "query_string", b""
    ).split(b"&")


def _admission_exempt(scope) -> bool:
    path = scope["path"]
    return path in ADMISSION_EXEMPT_PATHS or path.startswith(
        (settings.STATIC_URL, settings.MEDIA_URL)
    )


def _knock_signer(scope, cookies: dict[str, str]) -> signing.TimestampSigner | None:
    """What signs a knock on this page for this session; None without a session (a visitor
    must be signed in to take a place, and signing in begins a new session)."""
    session = cookies.get(settings.SESSION_COOKIE_NAME)
    if not session:
        return None
    return signing.TimestampSigner(salt=f"{__name__}.knocked:{scope['path']}:{session}")


def knocked_at(scope) -> float | None:
    """When this visitor first knocked at this queue page (epoch ms), as an earlier busy answer
    told them, if it did within KNOCK_KEPT_SECONDS, for this page and session; else None."""
    cookies = parse_cookie(scope_header(scope, b"cookie"))
    signer, value = _knock_signer(scope, cookies), cookies.get(KNOCKED)
    if signer is None or not value:
        return None
    try:
        return float(signer.unsign(value, max_age=KNOCK_KEPT_SECONDS))
    except (signing.BadSignature, ValueError):
        return None


def _knock_cookie(scope) -> bytes | None:
    """The Set-Cookie of a queue page's busy answer: when the visitor first knocked."""
    signer = _knock_signer(scope, parse_cookie(scope_header(scope, b"cookie")))
    if signer is None:
        return None
    value = signer.sign(f"{scope[ARRIVED]:.0f}")
    secure = "; Secure" if settings.SESSION_COOKIE_SECURE else ""
    path = quote(scope["path"])
    return (
        f"{KNOCKED}={value}; Max-Age={KNOCK_KEPT_SECONDS}; Path={path}; HttpOnly; "
        f"SameSite=Lax{secure}"
    ).encode()


async def _busy(scope, receive, send, *, knocked: bool = False) -> None:
    """The busy page at once; on the queue's lane (`knocked`), keeping when the visitor knocked."""
    htmx = scope_header(scope, b"hx-request") == "true"
    form = await _refused_form(scope, receive) if scope["method"] == "POST" and not htmx else None
    query = scope.get("query_string", b"").decode("latin1")
    nonce = secrets.token_urlsafe(18)
    retry_after = busy_retry_after()
    cookie = _knock_cookie(scope) if knocked else None
    body = busy_page(
        retry_after=retry_after,
        htmx=htmx,
        method=scope["method"],
        action=quote(scope["path"]) + (f"?{query}" if query else ""),
        form=form,
        csp_nonce=nonce,
        place_kept=cookie is not None,
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", build_policy(nonce).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    await _respond(send, status=503, body=body, headers=headers)


async def _refused_form(scope, receive) -> list[tuple[str, str]] | None:
    """The fields of a refused form post, to send again; None when it cannot be sent again."""
    content_type = scope_header(scope, b"content-type").split(";")[0].strip().lower()
    declared = scope_header(scope, b"content-length")
    if content_type != "application/x-www-form-urlencoded" or (
        declared.isdigit() and int(declared) > RESUBMIT_MAX_BYTES
    ):
        return None
    body = b""
    try:
        async with asyncio.timeout(REFUSED_BODY_WAIT_SECONDS):
            while True:
                message = await receive()
                body += message.get("body", b"")
                if message["type"] != "http.request" or len(body) > RESUBMIT_MAX_BYTES:
                    return None
                if not message.get("more_body"):
                    break
    except TimeoutError:
        return None
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


class WebSocketLimits:
    """At most so many open WebSockets per client address and per session, in this process."""

    def __init__(self, app):
        self.app = app
        self.open = Counter()

    async def __call__(self, scope, receive, send):
        counted = _limited_keys(scope)
        if any(self.open[key] >= limit for key, limit in counted):
            return await self.refuse(receive, send)
        for key, _ in counted:
            self.open[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            # Whatever ended the connection (close, error, or daphne cancelling a stuck consumer).
            for key, _ in counted:
                self.open[key] -= 1
                if not self.open[key]:
                    del self.open[key]

    async def refuse(self, receive, send) -> None:
        await _accept_and_close(receive, send, TOO_MANY_SOCKETS)


class EventStreamLimits(WebSocketLimits):
    """The same limits for the seat map's event streams (api.events), which stay open for
    minutes too, counted apart from the sockets; one more is a 429 problem. Other requests pass."""

    async def __call__(self, scope, receive, send):
        if not EVENT_STREAM_PATH.fullmatch(scope["path"]):
            return await self.app(scope, receive, send)
        return await super().__call__(scope, receive, send)

    async def refuse(self, receive, send) -> None:
        detail = "Too many seat event streams open from here: close one, then try again."
        body = problem(429, "rate_limited", detail).content
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"retry-after", b"10")]
        await _respond(send, status=429, body=body, headers=headers)


def _limited_keys(scope) -> list[tuple[tuple[str, str], int]]:
    keys = []
    address = (scope.get("client") or [None])[0]
    if address and settings.WEBSOCKET_MAX_PER_ADDRESS:
        keys.append((("address", address), settings.WEBSOCKET_MAX_PER_ADDRESS))
    # The raw cookie value: a forged one only moves the client to the address limit.
    session = parse_cookie(scope_header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME)
    if session and settings.WEBSOCKET_MAX_PER_SESSION:
        keys.append((("session", session), settings.WEBSOCKET_MAX_PER_SESSION))
    return keys


def scope_header(scope, name: bytes) -> str:
    """The first value of a header in an ASGI scope, or ""."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


async def _too_large(send, limit: int) -> None:
    await _respond(
        send,
        status=413,
        body=_too_large_body(limit),
        headers=[(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
    )


async def _respond(send, *, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """A whole response from the edge, without the application: `headers` and its length."""
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


async def _accept_and_close(receive, send, code: int) -> None:
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": code})


def limit_daphne_request_bodies() -> None:
    """When daphne is the server, make it refuse a body over MAX_REQUEST_BODY_BYTES as it arrives.

    Daphne (Twisted) receives the whole body, in memory or a temporary file, before it calls the
    application, then queues all of it for the application at once: RequestBodyLimit alone would
    meet a 3 GB body only once the process held all of it, and answer a too large Content-Length
    only once the client had sent it. Daphne has no option for this, so its request class gets
    the limit: 413 as soon as the headers declare too much or the stream passes the limit, then
    the connection closes. Nothing changes under any other server.
    """
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None or getattr(http_protocol.WebRequest, "limits_body", False):
        return

    class LimitedWebRequest(http_protocol.WebRequest):
        limits_body = True
        body_refused = False
        body_received = 0

        def gotLength(self, length):
            if length is not None and _over_limit(length):
                self.refuse_body()
                length = 0
            super().gotLength(length)

        def handleContentChunk(self, data):
            if self.body_refused:
                return
            self.body_received += len(data)
            if _over_limit(self.body_received):
                self.refuse_body()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command, path, version):
            if not self.body_refused:
                super().requestReceived(command, path, version)

        def refuse_body(self):
            self.body_refused = True
            # No "100 Continue" after the answer (Twisted sends it once the headers are in).
            self.requestHeaders.removeHeader(b"expect")
            self.channel.transport.write(_too_large_response(settings.MAX_REQUEST_BODY_BYTES))
            self.channel.loseConnection()
            log.warning("refused a request body over %d bytes", settings.MAX_REQUEST_BODY_BYTES)

    http_protocol.WebRequest = LimitedWebRequest


def limit_daphne_header_time() -> None:
    """When daphne is the server, close a connection that takes longer than
    HEADERS_TIMEOUT_SECONDS to send a request's headers.

    Twisted's HTTP channel (daphne's) waits for headers as long as bytes keep coming: a client
    sending one byte a second kept its connection, and a file descriptor of a process shared by
    hundreds, for as long as it liked (3,000 of them stayed open for the 40 s of a test). The
    clock starts when a connection opens and again when a response has been sent (the next
    request of a kept-alive connection), and stops when the headers are in: a slow upload of a
    body, or a WebSocket once open, is not limited by it. Nothing changes under another server.
    """
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None or getattr(http_protocol.HTTPFactory, "limits_header_time", False):
        return
    build = http_protocol.HTTPFactory.buildProtocol

    def build_with_deadline(factory, addr):
        protocol = build(factory, addr)
        _HeaderDeadline(protocol._channel, protocol.callLater)
        return protocol

    http_protocol.HTTPFactory.buildProtocol = build_with_deadline
    http_protocol.HTTPFactory.limits_header_time = True


class _HeaderDeadline:
    """The headers' clock of one HTTP channel, wound around the channel's own steps."""

    def __init__(self, channel, call_later):
        self.channel, self.call_later, self.timer = channel, call_later, None
        for step, then in (
            ("connectionMade", self.start),
            ("requestDone", self.start),
            ("allHeadersReceived", self.stop),
            ("connectionLost", self.stop),
        ):
            setattr(channel, step, self._wound(getattr(channel, step), then))

    @staticmethod
    def _wound(step, then):
        def wound(*args):
            result = step(*args)
            then()
            return result

        return wound

    def start(self):
        self.stop()
        if settings.HEADERS_TIMEOUT_SECONDS and self.channel.transport is not None:
            self.timer = self.call_later(settings.HEADERS_TIMEOUT_SECONDS, self.expire)

    def stop(self):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None

    def expire(self):
        self.timer = None
        log.info("closed a connection that sent no whole request headers in time")
        self.channel.transport.abortConnection()


def limit_uvicorn_header_time() -> None:
    """When uvicorn (httptools) is the server, close a connection that takes longer than
    HEADERS_TIMEOUT_SECONDS to send a request's headers.

    Uvicorn has no such limit: its keep-alive timeout is cancelled by any byte received, so a
    client trickling a header byte a second keeps its connection as long as it likes. The same
    clock as under daphne: from when the connection opens and from each response sent, until the
    headers are in. Nothing changes under another server.
    """
    if "uvicorn" not in sys.modules:
        return
    # Its command line may load the application before it imports its protocol.
    from uvicorn.protocols.http import httptools_impl as module

    if getattr(module.HttpToolsProtocol, "limits_header_time", False):
        return
    protocol = module.HttpToolsProtocol
    for step, then in (
        ("connection_made", _start_uvicorn_clock),
        ("on_response_complete", _start_uvicorn_clock),
        ("on_headers_complete", _stop_uvicorn_clock),
        ("connection_lost", _stop_uvicorn_clock),
    ):
        setattr(protocol, step, _after(getattr(protocol, step), then))
    protocol.limits_header_time = True


def _after(step, then):
    def wound(self, *args):
        # Stopped first: the headers' callback may raise (a bad request), and closes then.
        if then is _stop_uvicorn_clock:
            then(self)
            return step(self, *args)
        result = step(self, *args)
        then(self)
        return result

    return wound


def _start_uvicorn_clock(protocol) -> None:
    _stop_uvicorn_clock(protocol)
    seconds = settings.HEADERS_TIMEOUT_SECONDS
    if seconds and protocol.transport is not None and not protocol.transport.is_closing():
        protocol.headers_deadline = protocol.loop.call_later(
            seconds, _expire_uvicorn_clock, protocol
        )


def _stop_uvicorn_clock(protocol) -> None:
    timer = getattr(protocol, "headers_deadline", None)
    if timer is not None:
        timer.cancel()
        protocol.headers_deadline = None


def _expire_uvicorn_clock(protocol) -> None:
    protocol.headers_deadline = None
    log.info("closed a connection that sent no whole request headers in time")
    protocol.transport.abort()


def _over_limit(size: int) -> bool:
    return bool(settings.MAX_REQUEST_BODY_BYTES) and size > settings.MAX_REQUEST_BODY_BYTES


def _too_large_response(limit: int) -> bytes:
    body = _too_large_body(limit)
    return (
        b"HTTP/1.1 413 Content Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )


def _too_large_body(limit: int) -> bytes:
    return f"Request body too large: at most {limit} bytes.\n".encode()
