"""Limits at the ASGI edge, before Django or a consumer spends anything on a client.

Request bodies: over MAX_REQUEST_BODY_BYTES is 413, told by Content-Length at once, or as soon as
a streamed (chunked) body passes the limit. WebSockets: at most WEBSOCKET_MAX_PER_ADDRESS open at
once per client address and WEBSOCKET_MAX_PER_SESSION per session cookie, counted in this process
(so the limits apply per web process); one more is accepted and closed with TOO_MANY_SOCKETS,
because a browser shows a refused handshake as 1006 and never the reason.

Under daphne the body limit must also hold inside the server: see limit_daphne_request_bodies.
"""

import logging
import sys
from collections import Counter

from django.conf import settings
from django.http.cookie import parse_cookie

log = logging.getLogger(__name__)

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


class WebSocketLimits:
    """At most so many open WebSockets per client address and per session, in this process."""

    def __init__(self, app):
        self.app = app
        self.open = Counter()

    async def __call__(self, scope, receive, send):
        counted = _limited_keys(scope)
        if any(self.open[key] >= limit for key, limit in counted):
            return await _accept_and_close(receive, send, TOO_MANY_SOCKETS)
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
    body = _too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
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
