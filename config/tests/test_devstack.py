"""The zero-setup mode: the embedded Redis-compatible server must run the real hold scripts and
carry the event stream the notifier reads."""

import pytest
from django.core import mail

from audit.notifier import GROUP, Notifier
from bookings import services
from config.devstack import start_embedded_redis
from seats import holds


@pytest.fixture
def embedded_redis(settings):
    url, server = start_embedded_redis()
    settings.REDIS_URL = url
    yield url
    server.shutdown()
    server.server_close()


def test_embedded_server_runs_the_hold_lifecycle(embedded_redis):
    first = holds.hold(showtime_id=1, labels=["A1", "A2"], token="alice", ttl_seconds=30)
    assert first.ok and first.fence == 1
    clash = holds.hold(showtime_id=1, labels=["A2", "A3"], token="bob", ttl_seconds=30)
    assert clash.conflicts == ["A2"]
    extended = holds.extend(
        showtime_id=1, labels=["A1", "A2"], token="alice", ttl_seconds=30, max_extensions=2
    )
    assert extended.status is holds.ExtendStatus.OK
    assert holds.held_labels(showtime_id=1, labels=["A1", "A2", "A3"]) == {
        "A1": "alice",
        "A2": "alice",
    }
    assert holds.release(showtime_id=1, labels=["A1", "A2"], token="alice") == ["A1", "A2"]
    assert holds.hold(showtime_id=1, labels=["A2", "A3"], token="bob", ttl_seconds=30).ok


@pytest.mark.django_db(transaction=True)
def test_embedded_server_carries_the_notifier(embedded_redis, showtime, user):
    """Its connections close after any error reply, so the notifier must not make one per pass."""
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.pay_booking(booking=booking)
    notifier = Notifier(consumer="embedded", block_ms=1)
    handled = [notifier.run_once() for _ in range(3)]
    assert handled == [2, 0, 0]  # the hold and the confirmation, each once
    assert [email.to for email in mail.outbox] == [[user.email]]
    assert notifier.redis.xpending("events", GROUP)["pending"] == 0
