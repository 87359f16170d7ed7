"""PostgreSQL failing over under a running process: a request whose connection dies gets the
"try again" page (503, Retry-After), never a 500, and the connections the server dropped are
replaced (infra.database) rather than failing one request each. Real pooled PostgreSQL
connections, killed with pg_terminate_backend (tests/scale/test_scale.py kills a real Patroni
primary)."""

import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import suppress

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from cinema.models import Movie
from config.tests.test_outages import serving
from conftest import TEST_REDIS_URL
from infra.errors import RETRY_AFTER
from tests.e2e.stack import free_port

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


class Relay:
    """A TCP relay in front of PostgreSQL that can be cut (its connections dropped, new ones
    refused) and restored on the same port: the primary's address going away, then a new
    primary answering there."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listening = threading.Event()

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.05)
        self.listening.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        self.listening.clear()
        time.sleep(0.1)  # the listener closes
        with self.lock:
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self.listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                server = socket.create_connection(self.target)
                with self.lock:
                    self.sockets += [client, server]
                for one, other in ((client, server), (server, client)):
                    threading.Thread(target=_pipe, args=(one, other), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# About a failover's (tests/scale/test_pg_failover.py: 7 to 9 s). psycopg_pool's own backoff
# tries again 1, 3, 7 and 15 s (each within 10%) after the first failure: the moment the
# database is back falls between the last two.
OUTAGE_SECONDS = 9


@POOLED
@pytest.mark.django_db(transaction=True)
def test_the_pool_reconnects_as_soon_as_the_database_is_back():
    relay = Relay((connection.settings_dict["HOST"], int(connection.settings_dict["PORT"])))
    relay.up()
    database = connection.settings_dict["NAME"]
    with serving(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{relay.port}/{database}",
        REDIS_URL=TEST_REDIS_URL,
    ) as base:
        page = f"{base}/movies/no-such-movie/"
        assert _status(page) == 404
        relay.down()
        cut = time.monotonic()
        while time.monotonic() < cut + OUTAGE_SECONDS:
            assert _status(page) == 503
            time.sleep(0.1)
        relay.up()
        back = time.monotonic()
        while (status := _status(page)) == 503 and time.monotonic() < back + 30:
            time.sleep(0.05)
        served_after = time.monotonic() - back
    relay.down()
    print(f"served {served_after:.2f} s after the database was back")

    assert status == 404
    # Before, the pool's next attempt came 4 to 7 s later, and every request until then got
    # the "try again" page although the database answered.
    assert served_after < 2, served_after
