"""PostgreSQL failing over under a running process: a request whose connection dies gets the
"try again" page (503, Retry-After), never a 500, and the connections the server dropped are
replaced (infra.database) rather than failing one request each. Real pooled PostgreSQL
connections, killed with pg_terminate_backend (tests/scale/test_scale.py kills a real Patroni
primary)."""

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from cinema.models import Movie
from infra.errors import RETRY_AFTER

POOLED = pytest.mark.skipif(
    "pool" not in settings.DATABASES["default"].get("OPTIONS", {}),
    reason="needs PostgreSQL's connection pool (DATABASE_URL=postgres://...)",
)


def _terminate(pids: list[int]) -> None:
    """Kill these backends from a connection of our own, as a dying primary drops them."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _dies_mid_request(request):
    Movie.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    _terminate([pid])
    Movie.objects.count()
    raise AssertionError("the query after the kill succeeded")


def _counts(request):
    return HttpResponse(str(Movie.objects.count()))


urlpatterns = [path("dies/", _dies_mid_request), path("counts/", _counts)]
handler500 = "infra.errors.server_error"


@POOLED
@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_request_whose_connection_dies_gets_try_again_and_the_next_one_reconnects():
    client = Client(raise_request_exception=False)

    response = client.get("/dies/")
    # What a request's end does in production (the test client leaves it out, to keep a
    # test's connection).
    close_old_connections()

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER)
    assert "try again" in response.content.decode()
    assert client.get("/counts/").status_code == 200


@POOLED
@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_after_one_request_met_a_dead_pooled_connection_the_others_get_live_ones():
    connection.close()
    pool = connection.pool
    pool.open()
    stats = pool.get_stats()
    # Every connection the pool may still hand out (another thread may hold some).
    free = pool.max_size - stats["pool_size"] + stats["pool_available"]
    idle = []
    try:
        idle += [pool.getconn(timeout=10) for _ in range(free)]
        pids = [conn.info.backend_pid for conn in idle]
    finally:
        for conn in idle:
            pool.putconn(conn)
    _terminate(pids)
    client = Client(raise_request_exception=False)

    statuses = []
    for _ in range(free):
        statuses.append(client.get("/counts/").status_code)
        close_old_connections()

    assert free >= 2
    assert statuses == [503] + [200] * (free - 1)
