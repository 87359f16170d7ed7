"""The queue page answered at the ASGI edge, before Django's middleware and view: an on-sale's
crowd joins in a fraction of a millisecond of web CPU each, so joins are served in the order
they arrived, seconds sooner, and leave the processes to the shoppers let in.

It answers only the visit it can answer as the view would, from what it knows without the
database (waitingroom.remembered): a member of a room the view served in the last second, signed
in with a session of the cache-backed store whose account may take a place (as found when they
signed in, or by the view), who is still queued: the page (or, to htmx's polling, its
`_place.html`), their claim's cookie and the headers Django's middleware gives the page. Anything
else goes to the view, which answers as it always has: a room off, unknown or just changed, a
visitor without a place or with messages to see, a shopper whose turn it is, a query string
(`?go=1`), a CSRF cookie to make, Redis unreachable.

A join is a session read and the member from the cache (two round trips), the Lua join and the
pace (two more), the page: no middleware, no database. The first visit after signing in is one:
signing in remembers the member (waitingroom.apps).
"""

import asyncio
import re
import secrets
from importlib import import_module
from io import BytesIO
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CSRF_SECRET_LENGTH, get_token
from django.middleware.security import SecurityMiddleware
from django.template.loader import get_template
from django.utils.cache import patch_vary_headers
from redis.exceptions import RedisError

from infra.compression import GZipMiddleware
from infra.csp import ContentSecurityPolicyMiddleware
from infra.limits import ARRIVED
from infra.requestid import HEADER as REQUEST_ID
from infra.requestid import request_id_of
from waitingroom import remembered, services
from waitingroom.models import WaitingRoom
from waitingroom.views import place_context, set_claim_cookie

QUEUE_PAGE = re.compile(r"/showtimes/(\d+)/queue/")
_ALPHANUMERIC = re.compile(r"[a-zA-Z0-9]+")


def _unused(request):
    raise AssertionError("the edge answers by itself")


# The response halves of the middleware the view's answer goes through, in the order Django
# applies them (config.settings.MIDDLEWARE, innermost first).
_frames = XFrameOptionsMiddleware(_unused)
_csp = ContentSecurityPolicyMiddleware(_unused)
_security = SecurityMiddleware(_unused)
_gzip = GZipMiddleware(_unused)


class QueueAtTheEdge:
    """ASGI: the queue page of a queued member answered here (`answer`), any other request by
    `app`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and QUEUE_PAGE.fullmatch(scope["path"]):
            # A thread, as Django's views have: a slow Redis must not stop the event loop.
            response = await asyncio.to_thread(answer, scope)
            if response is not None:
                return await _send(response, send)
        return await self.app(scope, receive, send)


def answer(scope) -> HttpResponse | None:
    """The queue page as the view would answer it, for a member still queued; None when the
    view must answer."""
    found = QUEUE_PAGE.fullmatch(scope["path"])
    if not found or scope["method"] != "GET" or scope.get("query_string"):
        return None
    showtime = remembered.room(int(found[1]))
    if showtime is None or not services.is_on(showtime):
        return None
    request = ASGIRequest(scope, BytesIO())
    try:
        # ALLOWED_HOSTS, as Django's CommonMiddleware checks it (a 400 from the view's path).
        request.get_host()
    except DisallowedHost:
        return None
    # The HTTPS redirect, when the settings ask for one.
    if _security.process_request(request) is not None:
        return None
    user = _signed_in(request)
    if user is None:
        return None
    htmx = request.headers.get("HX-Request") == "true"
    csrf_secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
    if not htmx and not _plain_secret(csrf_secret):
        return None
    try:
        entry = services.enter(
            showtime=showtime,
            member=f"u{user.pk}",
            token=request.COOKIES.get(services.cookie_name(showtime.pk), ""),
            arrived_ms=scope.get(ARRIVED),
        )
        if entry.place.admitted:
            return None
        wait_minutes = services.wait_minutes(showtime, entry.place)
    except RedisError:
        return None
    context = place_context(
        showtime=showtime,
        place=entry.place,
        paused=WaitingRoom.of(showtime).paused,
        queue_url=request.path,
        wait_minutes=wait_minutes,
    )
    if htmx:
        response = HttpResponse(get_template("waitingroom/_place.html").render(context))
    else:
        # What the page's context processors give it, as the view's request would have it.
        request.META["CSRF_COOKIE"] = csrf_secret
        page = context | {
            "user": user,
            "request": request,
            "messages": (),
            "csrf_token": get_token(request),
        }
        response = HttpResponse(get_template("waitingroom/queue.html").render(page))
    set_claim_cookie(response, request=request, showtime=showtime, claim=entry.cookie)
    return _through_middleware(request, response)


def _signed_in(request) -> SimpleNamespace | None:
    """The signed-in account of the request's session, read from the cache alone, if it is known
    to be one that may take a place; None when only the view can tell."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    # Only a store kept in the cache is read without the database (cache, cached_db).
    if store.session_key is None or not hasattr(type(store), "cache_key"):
        return None
    session = caches[settings.SESSION_CACHE_ALIAS].get(store.cache_key)
    if not isinstance(session, dict) or "_messages" in session:
        return None
    if CookieStorage.cookie_name in request.COOKIES:
        return None
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return None
    user_id = session.get(SESSION_KEY)
    known = remembered.member(user_id, session.get(HASH_SESSION_KEY, ""))
    if known is None:
        return None
    return SimpleNamespace(
        pk=user_id,
        is_authenticated=True,
        is_staff=known["staff"],
        email=known["email"],
        get_username=lambda: known["username"],
    )


def _plain_secret(secret: str) -> bool:
    """A CSRF cookie Django takes as it is (an older or malformed one it would replace)."""
    return not settings.CSRF_USE_SESSIONS and (
        len(secret) == CSRF_SECRET_LENGTH and bool(_ALPHANUMERIC.fullmatch(secret))
    )


def _through_middleware(request, response: HttpResponse) -> HttpResponse:
    """What Django's middleware adds to the view's answer (config.settings.MIDDLEWARE)."""
    if "CSRF_COOKIE" in request.META:
        response.set_cookie(
            settings.CSRF_COOKIE_NAME,
            request.META["CSRF_COOKIE"],
            max_age=settings.CSRF_COOKIE_AGE,
            domain=settings.CSRF_COOKIE_DOMAIN,
            path=settings.CSRF_COOKIE_PATH,
            secure=settings.CSRF_COOKIE_SECURE,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite=settings.CSRF_COOKIE_SAMESITE,
        )
    # The session was read (sessions, and the CSRF cookie's page).
    patch_vary_headers(response, ("Cookie",))
    response = _frames.process_response(request, response)
    response.headers["Content-Length"] = str(len(response.content))
    request.csp_nonce = secrets.token_urlsafe(18)
    response = _csp.process_response(request, response)
    response = _security.process_response(request, response)
    response = _gzip.process_response(request, response)
    response[REQUEST_ID] = request_id_of(request)
    return response


async def _send(response: HttpResponse, send) -> None:
    """As Django's ASGI handler sends a response."""
    headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
    headers += [
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
