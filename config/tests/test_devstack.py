"""The zero-setup mode: the embedded Redis-compatible server must run the real hold scripts and
carry the event stream the notifier reads, the emails must link to where it serves, and the
README's manage.py commands must reach its database and Redis."""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import redis
from django.core import mail

from audit.notifier import GROUP, Notifier
from bookings import services
from config.devstack import STACK_ENV_FILE, process_env, start_embedded_redis, write_stack_env
from conftest import pay
from seats import holds
from tests.e2e.stack import free_port

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


# What a developer's shell has: nothing that names the stack's database or Redis.
SHELL = {
    key: value
    for key, value in os.environ.items()
    if key not in {"DEBUG", "DATABASE_URL", "MEDIA_ROOT", "REDIS_URL", "SITE_URL"}
}
MAKE = shutil.which("make")
EMBEDDED_REDIS = re.compile(r"\(fakeredis\) at (redis://\S+)\. It keeps")


def make_manage(args: str) -> subprocess.CompletedProcess:
    """`make manage ARGS="args"` as the README shows it (with this interpreter's virtualenv,
    without reinstalling it)."""
    venv = f"BIN={Path(sys.executable).parent}"
    return subprocess.run(
        [MAKE, "-s", "-o", ".venv/.runtime", venv, "manage", f"ARGS={args}"],
        cwd=ROOT,
        env=SHELL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def no_stack_running():
    if MAKE is None:
        pytest.skip("make is not installed")
    if STACK_ENV_FILE.exists():
        pytest.skip("`make run` is running in this checkout (.devstack.env)")
    yield
    STACK_ENV_FILE.unlink(missing_ok=True)


def row(database: Path, sql: str, *params) -> tuple:
    with closing(sqlite3.connect(database)) as db:
        return db.execute(sql, params).fetchone()


@contextmanager
def make_run(database: Path):
    """`python -m config.devstack` (`make run`) with no REDIS_URL, so on its embedded Redis, on
    `database`; yields that Redis's URL, from its log, once it serves."""
    log_path = database.with_suffix(".log")
    env = {**SHELL, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}"}
    env |= {"MEDIA_ROOT": str(database.parent / "media")}
    env |= {"PORT": str(free_port()), "DEMO_STAFF_PASSWORD": "stack-password-123"}
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "config.devstack"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while not STACK_ENV_FILE.exists():
            assert stack.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        yield EMBEDDED_REDIS.search(log_path.read_text()).group(1)
    finally:
        stack.terminate()
        try:
            stack.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()


def test_make_manage_acts_on_the_database_and_redis_of_make_run(no_stack_running, tmp_path):
    database = tmp_path / "stack.sqlite3"
    with make_run(database) as stack_redis:
        (showtime,) = row(database, "SELECT min(id) FROM cinema_showtime")
        result = make_manage(f"waiting_room on {showtime} --max-active 7")
        assert result.returncode == 0, result.stderr
        assert f"Showtime {showtime} " in result.stdout
        assert "waiting room on" in result.stdout
        room = 'SELECT "on", max_active FROM waitingroom_waitingroom WHERE showtime_id = ?'
        assert row(database, room, showtime) == (1, 7)
        event = "SELECT max(id) FROM audit_auditevent WHERE kind = 'waiting_room_changed'"
        (event_id,) = row(database, event)
        entries = redis.Redis.from_url(stack_redis, decode_responses=True).xrange("events")
        assert str(event_id) in [fields["id"] for _, fields in entries]
    assert not STACK_ENV_FILE.exists()
    refused = make_manage(f"waiting_room status {showtime}")
    assert refused.returncode != 0
    assert "`make run` is not running in this checkout" in refused.stderr


def test_make_manage_says_when_make_run_stopped_without_clearing_up(no_stack_running):
    gone = f"redis://127.0.0.1:{free_port()}/0"
    write_stack_env({"DEBUG": "1", "REDIS_URL": gone})
    result = make_manage("waiting_room status 1")
    assert result.returncode != 0
    assert f"`make run`'s Redis (.devstack.env) at {gone} does not answer" in result.stderr
    assert "Is `make run` still running?" in result.stderr
