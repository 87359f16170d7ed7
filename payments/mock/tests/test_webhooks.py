"""The outbox: kept for tests in "manual" mode, posted by the web process in "http" mode."""

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from payments.gateway import EventType
from payments.mock import services, webhooks
from payments.mock.gateway import MockGateway
from payments.mock.models import MockWebhook
from tests.concurrency import POSTGRES_ONLY


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self):
        return MockGateway().parse_webhook(payload=self.body, headers=self.headers)


class Receiver:
    """A real HTTP server on a free port that records every POST and answers `statuses` in turn
    (then 200)."""

    def __init__(self):
        self.received: list[Received] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def event_ids(self) -> list[str]:
        return [item.event.id for item in self.received]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def http_webhooks(settings, receiver):
    """ "http" mode, posting to the receiver."""
    settings.MOCK_GATEWAY_WEBHOOKS = "http"
    settings.MOCK_GATEWAY_WEBHOOK_URL = f"{receiver.base}/hook/"
    return receiver


def _wait_for_senders() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("mock-webhooks-"):
            thread.join(30)


def _outbox() -> list[MockWebhook]:
    return list(MockWebhook.objects.order_by("created_at"))


def test_manual_mode_keeps_every_event_for_the_test_to_send(new_session, receiver):
    session = new_session()
    services.fail_payment(session_id=session.id, reason="Your card was declined.")
    services.pay_session(session_id=session.id)
    other = new_session()
    services.pay_session(session_id=other.id)
    _wait_for_senders()
    assert receiver.received == []

    deliveries = webhooks.pending(session.id)
    assert [json.loads(d.body)["type"] for d in deliveries] == [
        "payment.failed",
        "payment.succeeded",
    ]
    assert [d.event_id for d in webhooks.pending()][:2] == [d.event_id for d in deliveries]
    assert len(webhooks.pending()) == 3
    delivery = deliveries[0]
    assert set(delivery.headers) == {"Content-Type", "Mock-Signature"}
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.body == MockWebhook.objects.get(pk=delivery.event_id).body.encode()

    webhooks.mark_delivered(delivery.event_id)
    assert [d.event_id for d in webhooks.pending(session.id)] == [deliveries[1].event_id]
    assert MockWebhook.objects.get(pk=delivery.event_id).delivered_at is not None


def test_pending_signs_each_delivery_when_asked(new_session, monkeypatch):
    services.pay_session(session_id=new_session().id)
    [first] = webhooks.pending()
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000)
    [later] = webhooks.pending()
    assert later.headers["Mock-Signature"].startswith("t=2000000000,")
    assert first.headers["Mock-Signature"] != later.headers["Mock-Signature"]


@pytest.mark.usefixtures("transactional_db")
def test_http_mode_posts_the_event_after_commit(http_webhooks, new_session):
    session = new_session()
    services.pay_session(session_id=session.id)
    _wait_for_senders()
    [received] = http_webhooks.received
    assert received.path == "/hook/"
    assert received.headers["Content-Type"] == "application/json"
    assert received.event.type is EventType.PAYMENT_SUCCEEDED
    assert received.event.session.id == session.id
    [event] = _outbox()
    assert event.delivered_at is not None and event.attempts == 1
    assert received.body == event.body.encode()
    assert webhooks.pending() == []


@pytest.mark.usefixtures("transactional_db")
def test_a_webhook_path_goes_to_the_host_the_buyer_paid_on(
    http_webhooks, new_session, settings, client
):
    settings.MOCK_GATEWAY_WEBHOOK_URL = "/payments/webhook/"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    session = new_session()
    host = http_webhooks.base.removeprefix("http://")
    response = client.post(
        session.url,
        {"card": "4242424242424242", "exp": "12/40", "cvc": "123"},
        headers={"host": host},
    )
    assert response.status_code == 303
    _wait_for_senders()
    [received] = http_webhooks.received
    assert received.path == "/payments/webhook/"
    assert received.event.type is EventType.PAYMENT_SUCCEEDED


@pytest.mark.usefixtures("transactional_db")
def test_the_delay_holds_the_webhook_back(http_webhooks, new_session, settings):
    settings.MOCK_GATEWAY_WEBHOOK_DELAY_SECONDS = 0.5
    session = new_session()
    paid_at = time.monotonic()
    services.pay_session(session_id=session.id)
    time.sleep(0.2)
    assert http_webhooks.received == []
    _wait_for_senders()
    [received] = http_webhooks.received
    assert received.at - paid_at >= 0.5


@pytest.mark.usefixtures("transactional_db")
def test_duplicate_mode_posts_each_event_twice(http_webhooks, new_session, settings):
    settings.MOCK_GATEWAY_WEBHOOK_DUPLICATE = True
    services.pay_session(session_id=new_session().id)
    _wait_for_senders()
    [event] = _outbox()
    assert http_webhooks.event_ids == [event.id, event.id]
    assert http_webhooks.received[0].body == http_webhooks.received[1].body
    assert event.delivered_at is not None and event.attempts == 2


@pytest.mark.usefixtures("transactional_db")
def test_a_failed_post_is_retried_with_backoff(http_webhooks, new_session):
    http_webhooks.statuses[:] = [500]
    services.pay_session(session_id=new_session().id)
    _wait_for_senders()
    [event] = _outbox()
    assert http_webhooks.event_ids == [event.id, event.id]
    first, second = http_webhooks.received
    assert second.at - first.at >= 0.5
    assert event.delivered_at is not None and event.attempts == 2


@pytest.mark.usefixtures("transactional_db")
def test_nothing_is_posted_for_a_transaction_that_rolls_back(http_webhooks, new_session):
    session = new_session()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        services.pay_session(session_id=session.id)
        1 / 0  # noqa: B018
    _wait_for_senders()
    assert http_webhooks.received == []
    assert _outbox() == []


def test_reorder_mode_posts_the_newest_first(http_webhooks, new_session, settings):
    settings.MOCK_GATEWAY_WEBHOOK_REORDER = True
    session = new_session()
    services.fail_payment(session_id=session.id, reason="Your card was declined.")
    services.pay_session(session_id=session.id)
    webhooks.send_pending(session_id=session.id)
    assert [item.event.type for item in http_webhooks.received] == [
        EventType.PAYMENT_SUCCEEDED,
        EventType.PAYMENT_FAILED,
    ]
    assert webhooks.pending() == []


def test_after_five_failed_attempts_it_gives_up_quietly(http_webhooks, new_session, caplog):
    http_webhooks.statuses[:] = [500, 502, 503, 500, 500, 200]
    services.pay_session(session_id=new_session().id)
    with caplog.at_level(logging.WARNING, logger="payments.mock.webhooks"):
        [sent] = webhooks.send_pending(waits=(0, 0, 0, 0))
    assert not sent.delivered and sent.problem == "HTTP 500"
    assert len(http_webhooks.received) == 5
    [event] = _outbox()
    assert event.delivered_at is None and event.attempts == 5
    assert "Gave up delivering webhook" in caplog.text
    assert [d.event_id for d in webhooks.pending()] == [event.id]


def test_a_redirect_is_not_a_delivery(http_webhooks, new_session):
    http_webhooks.statuses[:] = [302]
    services.pay_session(session_id=new_session().id)
    [sent] = webhooks.send_pending(waits=())
    assert not sent.delivered and sent.problem == "HTTP 302"


def test_an_unreachable_url_is_a_failed_attempt(new_session, settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.MOCK_GATEWAY_WEBHOOK_URL = f"http://127.0.0.1:{port}/hook/"  # nothing listens
    services.pay_session(session_id=new_session().id)
    [sent] = webhooks.send_pending(waits=())
    assert not sent.delivered and sent.problem


def test_the_deliver_command_sends_what_is_undelivered(receiver, new_session, settings):
    settings.MOCK_GATEWAY_WEBHOOK_URL = "/hook/"
    first, second = new_session(), new_session()
    services.pay_session(session_id=first.id)
    services.pay_session(session_id=second.id)
    webhooks.mark_delivered(webhooks.pending(first.id)[0].event_id)
    out = StringIO()
    call_command("mock_gateway_deliver", base_url=receiver.base, stdout=out)
    [received] = receiver.received
    assert received.path == "/hook/"
    assert received.event.session.id == second.id
    assert f"payment.succeeded -> {receiver.base}/hook/: delivered" in out.getvalue()
    assert "Delivered 1 of 1 webhook(s)." in out.getvalue()
    assert webhooks.pending() == []

    call_command("mock_gateway_deliver", base_url=receiver.base, stdout=out)
    assert len(receiver.received) == 1


def test_the_deliver_command_reports_a_failure(receiver, new_session, settings):
    settings.MOCK_GATEWAY_WEBHOOK_URL = f"{receiver.base}/hook/"
    receiver.statuses[:] = [400]
    services.pay_session(session_id=new_session().id)
    out = StringIO()
    call_command("mock_gateway_deliver", stdout=out)
    assert "failed: HTTP 400" in out.getvalue()
    assert "Delivered 0 of 1 webhook(s)." in out.getvalue()
    assert len(webhooks.pending()) == 1


@POSTGRES_ONLY  # SQLite's in-memory test database is never really closed
@pytest.mark.usefixtures("transactional_db")
def test_a_post_gives_its_database_connection_back(receiver, new_session):
    """Found in the rush: a sender kept its pooled connection through every post and every wait
    between retries, so under load the senders held the pool and requests got none."""
    services.pay_session(session_id=new_session().id)
    [event] = _outbox()
    assert connection.connection is not None
    assert webhooks._post(event, url=f"{receiver.base}/hook/") is None
    assert connection.connection is None
