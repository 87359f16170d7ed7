import logging
import signal
import socket
import time

import pytest

from audit import workers
from infra.overload import REFUSED, count_overload, overload_counts


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_is_ok_when_database_and_redis_answer(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "workers": {
            "sweeper": "missing",
            "notifier": "missing",
            "waitingroom": "missing",
            "webhooks": "missing",
        },
        "overload": overload_counts(),
    }


def test_health_counts_the_requests_this_process_turned_away(client, db):
    before = client.get("/health").json()["overload"]
    count_overload(REFUSED, what="GET /")
    after = client.get("/health").json()["overload"]
    assert after == {**before, REFUSED: before[REFUSED] + 1}
    assert set(after) == {"refused", "pool_timeouts", "outages"}


def test_health_is_503_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "redis": "error",
        "workers": {
            "sweeper": "unknown",
            "notifier": "unknown",
            "waitingroom": "unknown",
            "webhooks": "unknown",
        },
        "overload": overload_counts(),
    }


def test_workers_are_reported_but_never_take_the_node_out_of_rotation(client, db):
    # Alive for longer than any request takes on a loaded box (a 0.3 s heartbeat once ran out
    # before the first /health of a CI lane answered), then a short one that runs out.
    workers.beat("sweeper", expires_in=30)
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["workers"] == {
        "sweeper": "ok",
        "notifier": "missing",
        "waitingroom": "missing",
        "webhooks": "missing",
    }

    workers.beat("sweeper", expires_in=0.05)
    time.sleep(0.2)
    assert client.get("/health").json()["workers"] == {
        "sweeper": "missing",
        "notifier": "missing",
        "waitingroom": "missing",
        "webhooks": "missing",
    }


@pytest.mark.django_db
def test_every_worker_pass_leaves_a_heartbeat_even_a_failed_one(
    client, restore_signal_handlers, monkeypatch
):
    monkeypatch.setattr(workers, "FIRST_BACKOFF", 0.1)
    seen = []

    def step():
        seen.append(client.get("/health").json()["workers"]["notifier"])
        if len(seen) == 1:
            raise RuntimeError("first pass fails")
        signal.raise_signal(signal.SIGTERM)

    workers.run_passes("notifier host-123", step, interval=0, log=logging.getLogger("test"))

    assert seen == ["missing", "ok"]
    assert client.get("/health").json()["workers"]["notifier"] == "ok"
