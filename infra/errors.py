"""What happens to an exception nothing handled, over HTTP and WebSockets alike, and the friendly
error pages and the busy page.

One place decides which exceptions are an outage rather than a bug: the database or Redis not
answering (`outage_kind`). An outage is counted and logged (a row per failing request would add a
write to a database that is already full or gone); a bug is recorded as a system error by
settings.ERROR_RECORDER (audit's `record_error`: infra imports no app), with the request id
(`report_unhandled`). Over HTTP an outage gets 503, anything else the 500 page. Among outages, a
pool that hands out no connection because every one is in use is this server being full, not
down: the busy page, which tries again by itself within seconds (infra.limits serves the same
page to the requests it turns away at the edge). Any other outage gets the "try again" page. All
stand alone (no database, no session), so they render whatever broke. With DEBUG on Django shows
its traceback page instead, as for any error.
"""

import re
import secrets
import sys
from functools import cache

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from psycopg_pool import PoolTimeout

from infra.database import drop_dead_connections
from infra.overload import OUTAGE, POOL_TIMEOUT, count_overload
from infra.requestid import current_request_id

# Connection refused or lost, timeouts, a pool that hands out no connection (psycopg_pool's
# PoolTimeout reaches us as OperationalError), SQLite's "database is locked".
# On a Redis Cluster, a command that outlived its retries through a failover (the slot's master
# down and no replica promoted yet) ends in CLUSTERDOWN, TRYAGAIN or an uncovered slot.
OUTAGES = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
)
# Seconds a client is asked to wait before trying again after an outage.
RETRY_AFTER = 30
# After the busy page: a few seconds, drawn at random so that the clients turned away together
# do not all come back in the same second.
BUSY_RETRY_AFTER_MIN = 3
BUSY_RETRY_AFTER_MAX = 7

# A refused form is written back into the busy page to be sent again, unless it is larger than
# this or carries a password or card number (no page of ours shows those back).
RESUBMIT_MAX_BYTES = 16 * 1024
SECRET_FIELD = re.compile(r"pass|card|cvc|secret", re.IGNORECASE)
CSRF_FIELD = "csrfmiddlewaretoken"


def busy_retry_after() -> int:
    return BUSY_RETRY_AFTER_MIN + secrets.randbelow(BUSY_RETRY_AFTER_MAX - BUSY_RETRY_AFTER_MIN + 1)


def pool_is_full(pool) -> bool:
    """Whether every connection the pool may open is open and handed out."""
    stats = pool.get_stats()
    return stats["pool_size"] >= stats["pool_max"] and not stats["pool_available"]


def report_unhandled(error: BaseException, *, where: str, what: str, **context) -> None:
    """An exception no view or consumer handled: count and log an outage, record a bug. `where`
    names the code (the recorded event's), `what` the request or connection (the log line's)."""
    if kind := outage_kind(error):
        count_overload(kind, what=f"{what}: {type(error).__name__}: {error}")
        return
    _recorder(settings.ERROR_RECORDER)(where, error, **context)


def report_request_error(sender, request=None, **kwargs) -> None:
    """Django's got_request_exception, for an exception no view handled."""
    error = sys.exc_info()[1]
    if error is not None:
        path, method = getattr(request, "path", ""), getattr(request, "method", "")
        report_unhandled(error, where="view", what=f"{method} {path}", path=path, method=method)


@cache
def _recorder(path: str):
    return import_string(path)


def outage_kind(error: BaseException) -> str | None:
    """infra.overload.POOL_TIMEOUT or OUTAGE for an outage, None for a bug."""
    if not isinstance(error, OUTAGES):
        return None
    # The pool's wait also ends this way while PostgreSQL is unreachable (it cannot connect):
    # busy only when its connections are all open and all in use by other requests.
    if isinstance(error.__cause__, PoolTimeout):
        pool = getattr(connection, "pool", None)
        if pool is not None and pool_is_full(pool):
            return POOL_TIMEOUT
    return OUTAGE


def busy_page(
    *,
    retry_after: int,
    htmx: bool,
    method: str,
    action: str,
    form: list[tuple[str, str]] | None,
    csp_nonce: str,
    request=None,
    place_kept: bool = False,
) -> str:
    """The busy page: for a GET it reloads itself after `retry_after` seconds, for a POST it sends
    `form` (the fields as posted) again to `action`; for htmx only its message. Renders without
    the database, Redis or the session, with or without a request (the edge has none).
    `place_kept`: a waiting room's queue page, whose visitor keeps when they first arrived."""
    if htmx:
        # The page's own script (static/js/busy.js) sends the request again.
        context = {"retry_after": retry_after, "retrying": True, "htmx": True}
        return render_to_string("_503_busy.html", context)
    fields = [(name, value) for name, value in form or () if name != CSRF_FIELD]
    resubmit = form is not None and not any(SECRET_FIELD.search(name) for name, _ in fields)
    reload = method in {"GET", "HEAD"}
    context = {
        "retry_after": retry_after,
        "retrying": reload or resubmit,
        # Always a path on this site, whatever the request line said ("//host/" is another site).
        "action": "/" + action.lstrip("/"),
        "reload": reload,
        "resubmit": resubmit,
        "fields": fields if resubmit else [],
        "csp_nonce": csp_nonce,
        "place_kept": place_kept,
    }
    if request is None:
        # A fresh token needs the request; the one the form came with is still good, because a
        # refusal at the edge sets no cookie. "NOTPROVIDED" is the csrf_token tag's "none here".
        posted = dict(form or ()).get(CSRF_FIELD)
        context["csrf_token"] = posted or "NOTPROVIDED"
    return render_to_string("503_busy.html", context, request=request)


def busy_response(request):
    """503 with the busy page, for a request that found every database connection in use."""
    htmx = request.headers.get("HX-Request") == "true"
    retry_after = busy_retry_after()
    page = busy_page(
        retry_after=retry_after,
        htmx=htmx,
        method=request.method,
        action=request.get_full_path(),
        form=None if htmx else _posted_form(request),
        csp_nonce=getattr(request, "csp_nonce", ""),
        request=request,
    )
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _posted_form(request) -> list[tuple[str, str]] | None:
    if request.method != "POST" or request.content_type != "application/x-www-form-urlencoded":
        return None
    if int(request.META.get("CONTENT_LENGTH") or 0) > RESUBMIT_MAX_BYTES:
        return None
    try:
        return [(name, value) for name, values in request.POST.lists() for value in values]
    except Exception:
        # Whatever is wrong with the body, the busy page is still the answer.
        return None


def server_error(request):
    """500, or 503 when the database or Redis is unreachable or the pool is exhausted; with the
    request id on the outage and bug pages, so support can find the logs and the audit event."""
    kind = outage_kind(sys.exc_info()[1])
    if kind == POOL_TIMEOUT:
        return busy_response(request)
    request_id = getattr(request, "request_id", "") or current_request_id()
    if kind:
        if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
            # The server went away (a failover): the other requests of this process should not
            # each find a dead pooled connection too.
            drop_dead_connections()
        response = render(request, "503.html", {"request_id": request_id}, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return render(request, "500.html", {"request_id": request_id}, status=500)
