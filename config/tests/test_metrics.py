"""`/metrics`: Prometheus figures of the node, for the token's holder only; counted through the
real ASGI application, read from the real Redis and database."""

import shutil
import subprocess

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from prometheus_client import REGISTRY

from audit.notifier import Notifier
from audit.services import Kind, record
from audit.workers import beat
from config.asgi import application
from conftest import open_waiting_room
from infra.tests.test_overload import _assert_busy, _request, _slow_request, one_place  # noqa: F401
from tests.websocket import ORIGIN, close_worker_connections  # noqa: F401 (fixture)
from waitingroom import queue

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(token) -> str:
    response = Client().get("/metrics", **token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_are_off_without_a_token_and_refused_without_the_right_one(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"] == "Bearer"
    assert "cinema_http_responses_total" not in wrong.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_every_response_is_counted_by_status_the_edges_refusals_too(one_place):  # noqa: F811
    not_found, busy, refused = (
        _value("cinema_http_responses_total", status="404"),
        _value("cinema_http_responses_total", status="503"),
        _value("cinema_overload_responses_total", kind="refused"),
    )
    status, *_ = await _request("GET", "/no-such-page/")
    assert status == 404
    inside = await _slow_request()  # the one place taken: the next is turned away at the edge
    status, headers, *_ = await _request("GET", "/")
    _assert_busy(status, headers)
    await inside.send_input({"type": "http.request", "body": b"1"})
    await inside.receive_output(timeout=10)
    await inside.wait(timeout=10)
    assert _value("cinema_http_responses_total", status="404") == not_found + 2
    assert _value("cinema_http_responses_total", status="503") == busy + 1
    assert _value("cinema_overload_responses_total", kind="refused") == refused + 1


@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_counted_while_open(showtime):
    before = _value("cinema_websocket_connections")
    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime.pk}/", headers=[ORIGIN]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert _value("cinema_websocket_connections") == before + 1
    await communicator.disconnect()
    assert _value("cinema_websocket_connections") == before


def test_holds_are_counted_by_outcome(showtime, user, bob, token):
    held, taken, timed = (
        _value("cinema_holds_total", outcome="held"),
        _value("cinema_holds_total", outcome="409"),
        _value("cinema_hold_seconds_count"),
    )
    first, second = Client(), Client()
    first.force_login(user)
    second.force_login(bob)
    assert first.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]}).status_code == 303
    assert second.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]}).status_code == 409
    scraped = _scrape(token)
    assert f'cinema_holds_total{{outcome="held"}} {held + 1}' in scraped
    assert f'cinema_holds_total{{outcome="409"}} {taken + 1}' in scraped
    # Both took their time, each well inside the histogram's last finite bucket.
    assert f"cinema_hold_seconds_count {timed + 2}" in scraped
    assert f'cinema_hold_seconds_bucket{{le="5.0"}} {timed + 2}' in scraped


@pytest.mark.django_db(transaction=True)
def test_the_scrape_reads_the_waiting_rooms_the_stream_and_the_pools(showtime, token):
    open_waiting_room(showtime)
    for member in ("u1", "u2", "u3"):
        queue.join(showtime_id=showtime.pk, member=member, on_sale_ms=0)
    record(Kind.SYSTEM_ERROR)
    record(Kind.SYSTEM_ERROR)
    beat("sweeper", expires_in=30)
    scraped = _scrape(token)
    assert f'cinema_waiting_room_queued{{showtime="{showtime.pk}"}} 3.0' in scraped
    assert f'cinema_waiting_room_shopping{{showtime="{showtime.pk}"}} 0.0' in scraped
    assert f'cinema_waiting_room_admitted_per_minute{{showtime="{showtime.pk}"}}' in scraped
    assert "cinema_db_pool_connections_in_use " in scraped
    assert "cinema_redis_pool_connections_in_use " in scraped
    assert "cinema_db_pool_connections_max " in scraped
    assert "cinema_db_pool_requests_waiting " in scraped
    # The sweeper beat just now; no notifier has.
    assert 'cinema_worker_up{kind="sweeper"} 1.0' in scraped
    assert 'cinema_worker_up{kind="notifier"} 0.0' in scraped
    (age,) = [line for line in scraped.splitlines() if line.startswith("cinema_worker_heart")]
    assert age.startswith('cinema_worker_heartbeat_age_seconds{kind="sweeper"} ')
    assert 0 <= float(age.split()[-1]) < 5
    # Nobody has read the stream: both events are behind; once read and acknowledged, none.
    assert "cinema_event_stream_lag 2.0" in scraped
    Notifier(consumer="metrics-test", block_ms=1).run_once()
    scraped = _scrape(token)
    assert "cinema_event_stream_lag 0.0" in scraped
    assert "cinema_event_stream_pending 0.0" in scraped


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian: prometheus) missing")
@pytest.mark.django_db(transaction=True)
def test_a_scrape_is_valid_for_prometheus(showtime, user, token):
    client = Client()
    client.force_login(user)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A1"]})
    open_waiting_room(showtime)
    checked = subprocess.run(
        [shutil.which("promtool"), "check", "metrics"],
        input=_scrape(token),
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""
