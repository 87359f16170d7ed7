from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import Delivery, Endpoint, EventType
from webhooks.sending import send_due
from webhooks.tests.receiver import Receiver
from webhooks.worker import WebhookWorker

SECRET = "whsec_the-receivers-own-secret"


def endpoint_for(url: str, *, types=tuple(EventType.values), **fields) -> Endpoint:
    """An endpoint registered a minute ago (before the test's events), wanting `types`."""
    fields.setdefault("secret", SECRET)
    fields.setdefault("created_at", timezone.now() - timedelta(minutes=1))
    return Endpoint.objects.create(url=url, types=list(types), **fields)


def made(**filters) -> list[str]:
    """The types of the deliveries made, in the order they go out."""
    deliveries = Delivery.objects.filter(**filters).order_by("event_id", "id")
    return list(deliveries.values_list("type", flat=True))


def send_all(*, now=None) -> int:
    """Pass after pass until a pass delivers nothing; returns how many were delivered."""
    delivered, total = None, 0
    while delivered != 0:
        delivered = send_due(now=now)
        total += delivered
    return total


@pytest.fixture
def receiver():
    receiver = Receiver(secret=SECRET)
    receiver.up()
    yield receiver
    receiver.down()


@pytest.fixture
def worker():
    """A webhooks worker that never waits on the stream."""
    return WebhookWorker(consumer="test-a", block_ms=1)
