"""Unexpected exceptions in views, consumers and workers become system-error events carrying the
request id, which is also on the response and on the JSON log lines."""

import io
import json
import logging
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.urls import path

from audit import workers
from audit.models import AuditEvent
from infra.logging import JsonFormatter
from infra.requestid import HEADER, RequestIdFilter
from infra.websockets import RecordErrorsMixin


class Boom(Exception):
    pass


def broken_view(request):
    raise Boom("the projector caught fire")


# This module is the URLconf of the view tests: one broken view and the product's friendly 500.
urlpatterns = [path("broken/", broken_view)]
handler500 = "infra.errors.server_error"


@pytest.fixture
def json_log():
    """JSON lines from the `django.request` logger, formatted as LOG_FORMAT=json formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_view_error_is_recorded_with_the_request_id_and_the_user_sees_a_friendly_page(
    settings, json_log
):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/broken/")

    assert response.status_code == 500
    request_id = response[HEADER]
    page = response.content.decode()
    assert "Something went wrong" in page and request_id in page
    assert "projector" not in page and "Traceback" not in page

    event = AuditEvent.objects.get(kind=AuditEvent.Kind.SYSTEM_ERROR)
    assert event.request_id == request_id
    assert event.detail["where"] == "view"
    assert event.detail["error"] == "Boom"
    assert event.detail["path"] == "/broken/" and event.detail["method"] == "GET"

    [line] = [line for line in json_log() if line["level"] == "ERROR"]
    assert line["request_id"] == request_id
    assert "Boom" in line["exc_info"]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_request_id_from_the_proxy_is_kept(settings):
    settings.DEBUG = False
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address
    response = Client(raise_request_exception=False).get(
        "/broken/", headers={HEADER: "edge-1234abcd"}
    )
    assert response[HEADER] == "edge-1234abcd"
    assert AuditEvent.objects.get().request_id == "edge-1234abcd"


class BrokenConsumer(RecordErrorsMixin, AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        raise Boom(f"cannot handle {text_data}")


@pytest.mark.django_db(transaction=True)
async def test_a_consumer_error_is_recorded_with_the_connections_request_id():
    communicator = WebsocketCommunicator(BrokenConsumer.as_asgi(), "/ws/broken/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="hello")
    with pytest.raises(Boom):
        await communicator.wait(timeout=5)
    await sync_to_async(connections.close_all)()

    event = await AuditEvent.objects.aget(kind=AuditEvent.Kind.SYSTEM_ERROR)
    assert event.detail["where"] == "websocket BrokenConsumer"
    assert event.detail["message"] == "cannot handle hello"
    assert event.detail["path"] == "/ws/broken/"
    assert len(event.request_id) == 32


@pytest.mark.django_db
def test_a_worker_error_is_recorded_and_the_worker_carries_on_after_a_pause(
    restore_signal_handlers, monkeypatch
):
    monkeypatch.setattr(workers, "FIRST_BACKOFF", 0.2)
    passes = []

    def step():
        passes.append(time.monotonic())
        if len(passes) == 1:
            raise Boom("redis went away")
        signal.raise_signal(signal.SIGTERM)  # the second pass works, then ops stops the worker

    workers.run_passes("test worker", step, interval=0, log=logging.getLogger("test.worker"))

    assert len(passes) == 2
    assert passes[1] - passes[0] >= 0.2  # it waited before trying again
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.SYSTEM_ERROR)
    assert event.detail == {"where": "test worker", "error": "Boom", "message": "redis went away"}
    assert len(event.request_id) == 32


def test_failures_in_a_row_wait_longer_up_to_a_cap():
    waits = [workers.backoff(n) for n in range(1, 10)]
    assert waits[:3] == [
        workers.FIRST_BACKOFF,
        2 * workers.FIRST_BACKOFF,
        4 * workers.FIRST_BACKOFF,
    ]
    assert waits == sorted(waits) and waits[-1] == workers.MAX_BACKOFF
