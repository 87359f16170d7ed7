"""Unreachable PostgreSQL or Redis: /health answers 503 in under 2 s, pages the "try again" page
(503) in under 5 s; through a real daphne with DEBUG off, as in production."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client

from conftest import TEST_REDIS_URL
from tests.e2e.stack import daphne_command, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def blackhole():
    """A port that takes connections and never answers: a server gone quiet, a dropped route."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextmanager
def serving(**env):
    """A daphne with DEBUG off on a free port, with these settings; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        daphne_command(port),
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.tests.production_settings",
            "DEBUG": "0",
            "SECRET_KEY": "outage-tests-secret-key-long-enough-for-production-checks",
            "TICKET_SIGNING_KEY": "bJ0cTQ2cF4x8wq1yZpV7hL3nK9sD5gR2tU6mE0aW4oI",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "PAYMENT_GATEWAY": "payments.mock.gateway.MockGateway",
            "PAYMENT_WEBHOOK_SECRET": "outage-tests-webhook-secret-long-enough",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _get(url: str) -> tuple[int, str, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read(), error.headers
    return status, body.decode(), dict(headers), time.monotonic() - started


def test_postgresql_not_answering_is_503_fast(blackhole):
    with serving(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{blackhole}/cinema", REDIS_URL=TEST_REDIS_URL
    ) as base:
        for _ in range(2):  # and again once the pool has been trying for a while
            status, body, _, seconds = _get(f"{base}/health")
            assert status == 503
            assert '"database": "error"' in body
            assert seconds < 2

        status, body, headers, seconds = _get(f"{base}/movies/any/")
        assert status == 503
        assert "try again" in body
        assert headers["Retry-After"] == "30"
        assert seconds < 5


@pytest.fixture(scope="module")
def seeded_sqlite():
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/outage.sqlite3"
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": url,
            "REDIS_URL": TEST_REDIS_URL,
            "MEDIA_ROOT": f"{tmp}/media",
        }
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        yield url


@pytest.mark.parametrize("redis_port", ["blackholed", "closed"])
def test_redis_unreachable_is_503_fast(seeded_sqlite, blackhole, redis_port):
    port = blackhole if redis_port == "blackholed" else free_port()
    with serving(DATABASE_URL=seeded_sqlite, REDIS_URL=f"redis://127.0.0.1:{port}/0") as base:
        status, body, _, seconds = _get(f"{base}/health")
        assert status == 503
        assert '"database": "ok", "redis": "error"' in body
        assert seconds < 2

        status, body, _, seconds = _get(f"{base}/showtimes/1/")
        assert status == 503
        assert "try again" in body
        assert seconds < 5


def test_an_unreachable_redis_gives_the_try_again_page_not_a_500(settings, showtime):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = Client(raise_request_exception=False).get(f"/showtimes/{showtime.pk}/")
    assert response.status_code == 503
    assert [template.name for template in response.templates] == ["503.html"]
    assert response["Retry-After"] == "30"
