"""The zero-setup mode: the embedded Redis-compatible server must run the real hold scripts."""

import pytest

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
