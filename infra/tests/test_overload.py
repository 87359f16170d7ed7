"""A full server says so quickly and cheaply: 503, Retry-After and the busy page, never a 500.

The edge admission is driven through the real ASGI application; a slow request is one whose body
has not all arrived (Django reads the whole body before any view), so it holds its place inside
Django for as long as the test wants. The full pool is real too: the test takes every pooled
PostgreSQL connection itself.
"""

import asyncio
import re
import time
from contextlib import contextmanager

import pytest
import redis
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import path

from audit.models import AuditEvent
from config.asgi import application
from infra.errors import BUSY_RETRY_AFTER_MAX, BUSY_RETRY_AFTER_MIN
from infra.overload import OUTAGE, POOL_TIMEOUT, REFUSED, overload_counts

FORM = "application/x-www-form-urlencoded"
POOLED = pytest.mark.skipif(
    "pool" not in settings.DATABASES["default"].get("OPTIONS", {}),
    reason="needs PostgreSQL's connection pool (DATABASE_URL=postgres://...)",
)


def _scope(method: str, url: str, headers=()) -> dict:
    path_, _, query = url.partition("?")
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path_,
        "raw_path": path_.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": query.encode(),
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


async def _request(method: str, url: str, body: bytes = b"", headers=()):
    """One whole request through the ASGI application: (status, headers, body, seconds)."""
    started = time.monotonic()
    communicator = ApplicationCommunicator(application, _scope(method, url, headers))
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(timeout=10)
    content = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return start["status"], dict(start["headers"]), content.decode(), time.monotonic() - started


async def _slow_request() -> ApplicationCommunicator:
    """A request inside Django that has not sent all of its body: it keeps its place."""
    communicator = ApplicationCommunicator(application, _scope("POST", "/no-such-page/"))
    await communicator.send_input({"type": "http.request", "body": b"a=", "more_body": True})
    await communicator.receive_nothing(timeout=0.2)
    return communicator


async def _finish(communicator: ApplicationCommunicator) -> int:
    await communicator.send_input({"type": "http.request", "body": b"1"})
    start = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    return start["status"]


def _assert_busy(status, headers):
    assert status == 503
    assert BUSY_RETRY_AFTER_MIN <= int(headers[b"retry-after"]) <= BUSY_RETRY_AFTER_MAX
    assert headers[b"cache-control"] == b"no-store"


@pytest.fixture
def one_place(settings):
    settings.WEB_MAX_IN_FLIGHT = 1
    settings.OVERLOAD_WAIT_MS = 100


@pytest.mark.django_db(transaction=True)
async def test_a_full_process_answers_503_with_retry_after_at_once(one_place):
    refused = overload_counts()[REFUSED]
    slow = await _slow_request()

    status, headers, body, seconds = await _request("GET", "/showtimes/1/?best=2")

    _assert_busy(status, headers)
    assert 0.1 <= seconds < 1
    assert "We're very busy right now" in body
    assert f'<meta http-equiv="refresh" content="{int(headers[b"retry-after"])}">' in body
    assert 'href="/showtimes/1/?best=2"' in body
    assert overload_counts()[REFUSED] == refused + 1

    assert await _finish(slow) == 404  # answered by Django once its body is in
    status, _, _, _ = await _request("GET", "/no-such-page/")
    assert status == 404


@pytest.mark.django_db(transaction=True)
async def test_a_request_that_finds_a_place_within_the_wait_gets_in(one_place, settings):
    settings.OVERLOAD_WAIT_MS = 3000
    slow = await _slow_request()
    waiting = ApplicationCommunicator(application, _scope("GET", "/no-such-page/"))
    await waiting.send_input({"type": "http.request", "body": b""})
    await waiting.receive_nothing(timeout=0.3)

    assert await _finish(slow) == 404
    assert (await waiting.receive_output(timeout=5))["status"] == 404
    await waiting.wait(timeout=5)


async def _waiting(method: str, url: str) -> ApplicationCommunicator:
    """A whole request sent, left waiting for its answer."""
    communicator = ApplicationCommunicator(application, _scope(method, url))
    await communicator.send_input({"type": "http.request", "body": b""})
    await communicator.receive_nothing(timeout=0.1)
    return communicator


async def _answered(communicator: ApplicationCommunicator) -> int:
    status = (await communicator.receive_output(timeout=5))["status"]
    await communicator.wait(timeout=5)
    return status


async def _full_lane_at_a_pace(pace: float) -> ApplicationCommunicator:
    """The one place handed from a slow request to the next waiting one, twice, `pace` seconds
    apart: the lane stayed full and learnt its pace. The request that holds the place now."""
    first, second = await _slow_request(), await _slow_request()
    third = await _slow_request()
    assert await _finish(first) == 404  # the place goes to `second`
    await asyncio.sleep(pace)
    assert await _finish(second) == 404  # and `pace` later to `third`
    return third


@pytest.mark.django_db(transaction=True)
async def test_a_request_that_cannot_have_a_place_in_time_is_turned_away_at_once(
    one_place, settings
):
    """A request waits when those before it, served at the pace places came free lately, leave
    it a place within OVERLOAD_WAIT_MS; one more would wait in vain and is told at once."""
    settings.OVERLOAD_WAIT_MS = 1000
    holding = await _full_lane_at_a_pace(0.4)
    refused = overload_counts()[REFUSED]
    next_in_line = await _waiting("GET", "/no-such-page/")  # a place in about 0.4 s
    second_in_line = await _waiting("GET", "/no-such-page/")  # in about 0.8 s

    status, headers, _, seconds = await _request("GET", "/no-such-page/")  # 1.2 s: too late

    _assert_busy(status, headers)
    assert seconds < 0.1
    assert overload_counts()[REFUSED] == refused + 1
    assert await _finish(holding) == 404
    assert await _answered(next_in_line) == 404
    assert await _answered(second_in_line) == 404


@pytest.mark.django_db(transaction=True)
async def test_a_lane_that_was_never_full_lets_a_burst_wait_its_turn(one_place, settings):
    """No pace is known before the lane has been full: a burst waits, up to OVERLOAD_WAIT_MS."""
    settings.OVERLOAD_WAIT_MS = 3000
    holding = await _slow_request()
    burst = [await _waiting("GET", "/no-such-page/") for _ in range(5)]

    assert await _finish(holding) == 404
    assert [await _answered(request) for request in burst] == [404] * 5


@pytest.mark.django_db(transaction=True)
async def test_a_buyer_paying_waits_whatever_the_queue(one_place, settings):
    settings.OVERLOAD_WAIT_MS = 1000
    settings.PAYING_WAIT_MS = 5000
    holding = await _full_lane_at_a_pace(0.4)
    queue = [await _waiting("GET", "/no-such-page/") for _ in range(2)]
    _assert_busy(*(await _request("GET", "/no-such-page/"))[:2])

    paying = await _waiting("POST", "/bookings/NOSUCHREF/pay/")
    await paying.receive_nothing(timeout=0.3)  # still waiting, behind the queue

    assert await _finish(holding) == 404
    assert [await _answered(request) for request in queue] == [404, 404]
    assert await _answered(paying) != 503


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
async def test_health_static_files_media_and_the_payment_webhook_are_never_turned_away(
    one_place, settings
):
    settings.OVERLOAD_WAIT_MS = 0
    slow = await _slow_request()

    assert (await _request("GET", "/"))[0] == 503
    status, _, body, _ = await _request("GET", "/health")
    assert status == 200
    assert '"overload": {"refused": ' in body
    assert (await _request("HEAD", "/static/css/site.css"))[0] == 200
    assert (await _request("GET", "/media/posters/none.webp"))[0] == 404
    webhook = await _request(
        "POST", "/payments/webhook/", b"{}", [(b"content-type", b"application/json")]
    )
    assert webhook[0] == 400  # a bad signature, told by the view

    await _finish(slow)


@pytest.mark.django_db(transaction=True)
async def test_the_busy_page_of_a_refused_post_sends_the_same_form_again(one_place):
    slow = await _slow_request()
    form = b"csrfmiddlewaretoken=the-token&seats=C7&seats=C8"

    status, headers, body, _ = await _request(
        "POST", "/showtimes/4/hold/", form, [(b"content-type", FORM.encode())]
    )

    _assert_busy(status, headers)
    assert '<form method="post" action="/showtimes/4/hold/" data-busy-resubmit>' in body
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body)
    assert hidden == [("csrfmiddlewaretoken", "the-token"), ("seats", "C7"), ("seats", "C8")]
    assert '<button type="submit" class="button button--primary">Try again now</button>' in body
    assert "http-equiv" not in body
    # The script that sends it again runs under the response's own policy.
    nonce = re.search(r'<script nonce="([^"]+)">', body).group(1)
    assert f"'nonce-{nonce}'" in headers[b"content-security-policy"].decode()
    await _finish(slow)


@pytest.mark.django_db(transaction=True)
async def test_a_refused_form_with_a_password_is_not_written_back(one_place):
    slow = await _slow_request()
    form = b"login=ann%40example.com&password=correct-horse"

    status, _, body, _ = await _request(
        "POST", "/accounts/login/", form, [(b"content-type", FORM.encode())]
    )

    assert status == 503
    assert "correct-horse" not in body
    assert "<form" not in body
    assert "send the form again" in body
    await _finish(slow)


@pytest.mark.django_db(transaction=True)
async def test_htmx_gets_the_busy_message_alone(one_place):
    slow = await _slow_request()

    status, headers, body, _ = await _request(
        "GET", "/?q=orbit", headers=[(b"hx-request", b"true")]
    )

    _assert_busy(status, headers)
    assert body.startswith('<p class="busy-message">We\'re very busy right now. Trying again in')
    assert "<html" not in body
    await _finish(slow)


# A genuine bug and an outage, raised by views of this module (see `urls` below).
def _bug(request):
    raise RuntimeError("a genuine bug")


def _redis_down(request):
    raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


urlpatterns = [path("bug/", _bug), path("redis-down/", _redis_down)]
handler500 = "infra.errors.server_error"


@pytest.mark.urls(__name__)
def test_an_outage_is_counted_and_logged_but_a_bug_is_still_audited(db, caplog):
    outages = overload_counts()[OUTAGE]
    client = Client(raise_request_exception=False)

    response = client.get("/redis-down/")
    assert response.status_code == 503
    assert [template.name for template in response.templates] == ["503.html"]
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.SYSTEM_ERROR).exists()
    assert overload_counts()[OUTAGE] == outages + 1

    assert client.get("/bug/").status_code == 500
    (event,) = AuditEvent.objects.filter(kind=AuditEvent.Kind.SYSTEM_ERROR)
    assert event.detail["error"] == "RuntimeError"


@contextmanager
def every_pooled_connection_taken():
    """Hold every connection of this process's pool, as a rush of slow requests would."""
    connection.close()
    pool = connection.pool
    pool.open()
    held = [pool.getconn(timeout=10) for _ in range(pool.max_size)]
    try:
        yield
    finally:
        for conn in held:
            pool.putconn(conn)


@POOLED
@pytest.mark.django_db(transaction=True)
def test_a_full_pool_is_the_busy_page_within_the_pool_timeout_and_writes_no_audit_row(
    showtime, user, settings, caplog
):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    timeouts = overload_counts()[POOL_TIMEOUT]
    pool_timeout = settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"]

    with every_pooled_connection_taken():
        started = time.monotonic()
        page = client.get(f"/showtimes/{showtime.pk}/")
        page_seconds = time.monotonic() - started
        hold = client.post(f"/showtimes/{showtime.pk}/hold/", "seats=A1&seats=A2", FORM)
        fragment = client.get(f"/showtimes/{showtime.pk}/", headers={"HX-Request": "true"})

    _assert_busy(page.status_code, {k.lower().encode(): v.encode() for k, v in page.items()})
    assert "We're very busy right now" in page.content.decode()
    # One wait on the pool, and nothing after it waits again (an audit row, the session).
    assert page_seconds < pool_timeout + 0.5
    assert hold.status_code == 503
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', hold.text)
    assert ("seats", "A1") in hidden and ("seats", "A2") in hidden
    # A fresh token from the CSRF cookie, which needs no database.
    assert [name for name, _ in hidden].count("csrfmiddlewaretoken") == 1
    assert fragment.status_code == 503
    assert fragment.text.startswith('<p class="busy-message">')
    assert overload_counts()[POOL_TIMEOUT] == timeouts + 3
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.SYSTEM_ERROR).exists()
    assert "could not record a system error" not in caplog.text


@POOLED
@pytest.mark.django_db(transaction=True)
def test_health_keeps_a_node_whose_pool_is_busy_in_rotation(client):
    with every_pooled_connection_taken():
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db(transaction=True)
async def test_the_queue_page_waits_in_a_lane_of_its_own(one_place, settings):
    """An on-sale's crowd joining the waiting room waits its turn instead of being turned away,
    and never takes the place of a shopper's request."""
    settings.ROOM_MAX_IN_FLIGHT = 1
    settings.ROOM_WAIT_MS = 5000
    slow = await _slow_request()  # the shoppers' lane is full
    slow_queue = ApplicationCommunicator(application, _scope("POST", "/showtimes/999/queue/"))
    await slow_queue.send_input({"type": "http.request", "body": b"a=", "more_body": True})
    await slow_queue.receive_nothing(timeout=0.2)  # and so is the queue's
    joining = ApplicationCommunicator(application, _scope("GET", "/showtimes/999/queue/"))
    await joining.send_input({"type": "http.request", "body": b""})
    await joining.receive_nothing(timeout=0.5)  # past OVERLOAD_WAIT_MS: still waiting, not refused

    assert await _finish(slow_queue) == 403  # a POST without CSRF: any answer from Django will do
    assert (await joining.receive_output(timeout=5))["status"] == 404  # no such showtime
    await joining.wait(timeout=5)
    # Meanwhile the shoppers' lane kept its one place for its own, including a shopper let in
    # taking their pass from the queue page.
    _assert_busy(*(await _request("GET", "/no-such-page/"))[:2])
    _assert_busy(*(await _request("GET", "/showtimes/999/queue/?go=1"))[:2])
    await _finish(slow)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/bookings/NOSUCHREF/pay/"),
        ("GET", "/bookings/NOSUCHREF/paid/"),
        ("GET", "/payments/stripe/checkout/pi_123:signature/"),
        ("GET", "/mock-gateway/checkout/cs_123/"),
        ("POST", "/api/v1/bookings/NOSUCHREF/pay"),
    ],
)
async def test_a_buyer_paying_waits_for_a_place_instead_of_being_turned_away(
    one_place, settings, method, url
):
    """A buyer whose seats are held is paying for them: turned away, their hold may run out
    while the money is taken, and they are refunded instead of seated. They wait longer."""
    settings.PAYING_WAIT_MS = 5000
    slow = await _slow_request()  # the only place is taken
    paying = ApplicationCommunicator(application, _scope(method, url))
    await paying.send_input({"type": "http.request", "body": b""})
    await paying.receive_nothing(timeout=0.5)  # past OVERLOAD_WAIT_MS: still waiting
    # Anyone else is still turned away at once.
    _assert_busy(*(await _request("GET", "/no-such-page/"))[:2])

    await _finish(slow)
    answer = await paying.receive_output(timeout=5)
    assert answer["status"] != 503  # served: whatever Django says of the made-up ref
    await paying.wait(timeout=5)
