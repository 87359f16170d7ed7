"""The friendly error pages for exceptions no view handled.

One place decides which exceptions are an outage rather than a bug: the database or Redis not
answering. Those get 503 and a "try again" page; anything else the 500 page. Both stand alone
(no database, no session), so they render whatever broke. With DEBUG on Django shows its
traceback page instead, as for any error.
"""

import sys

import redis
from django.db import InterfaceError, OperationalError
from django.shortcuts import render

from config.requestid import current_request_id

# Connection refused or lost, timeouts, a pool that hands out no connection (psycopg_pool's
# PoolTimeout reaches us as OperationalError), SQLite's "database is locked".
OUTAGES = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
# Seconds a client is asked to wait before trying again.
RETRY_AFTER = 30


def server_error(request):
    """500, or 503 when the database or Redis is unreachable; with the request id either way, so
    support can find the audit event and the logs."""
    request_id = getattr(request, "request_id", "") or current_request_id()
    if isinstance(sys.exc_info()[1], OUTAGES):
        response = render(request, "503.html", {"request_id": request_id}, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return render(request, "500.html", {"request_id": request_id}, status=500)
