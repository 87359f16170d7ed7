"""The zero-setup mode: the embedded Redis-compatible server must run the real hold scripts and
carry the event stream the notifier reads, and the emails must link to where it serves."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail

from audit.notifier import GROUP, Notifier
from bookings import services
from config.devstack import process_env, start_embedded_redis
from conftest import pay
from seats import holds

ROOT = Path(__file__).resolve().parents[2]
SHOW_SITE_URL = "from django.conf import settings; print(settings.SITE_URL)"


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
    pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    notifier = Notifier(consumer="embedded", block_ms=1)
    handled = [notifier.run_once() for _ in range(3)]
    # The hold, the payment's start and the hold's extension for it, the confirmation: each once.
    assert handled == [4, 0, 0]
    assert [email.to for email in mail.outbox] == [[user.email]]
    assert notifier.redis.xpending("events", GROUP)["pending"] == 0


def _site_url_in(env: dict[str, str]) -> str:
    """SITE_URL as a process `make run` starts with `env` reads it from the real settings."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW_SITE_URL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("host", "site_url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8101"),
        ("0.0.0.0", "http://127.0.0.1:8101"),  # noqa: S104 (serving every interface)
        ("::1", "http://[::1]:8101"),
    ],
)
def test_make_run_links_emails_to_the_port_it_serves_on(host, site_url):
    base = {key: value for key, value in os.environ.items() if key != "SITE_URL"}
    env = process_env({**base, "DEBUG": "1", "HOST": host, "PORT": "8101"})
    assert _site_url_in(env) == site_url


def test_make_run_keeps_a_site_url_it_is_given():
    env = process_env({**os.environ, "DEBUG": "1", "PORT": "8101", "SITE_URL": "https://x.test"})
    assert _site_url_in(env) == "https://x.test"
