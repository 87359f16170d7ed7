"""Startup configuration, checked in fresh processes so the real settings module is read."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Qp2-production-like-secret-key-with-plenty-of-entropy-9fKz0LmN3vB",
    "TICKET_SIGNING_KEY": "bJ0cTQ2cF4x8wq1yZpV7hL3nK9sD5gR2tU6mE0aW4oI",
    "ALLOWED_HOSTS": "cinema.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://cinema.example.com",
    "PAYMENT_GATEWAY": "payments.mock.gateway.MockGateway",
    "PAYMENT_WEBHOOK_SECRET": "whsec_production-like-webhook-secret-4Rt9",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    ours = {"DEBUG", "SECRET_KEY", "TICKET_SIGNING_KEY"}
    base = {key: value for key, value in os.environ.items() if key not in ours}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_names_its_payment_gateway_rather_than_falling_back_to_the_mock():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "PAYMENT_GATEWAY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "PAYMENT_GATEWAY is not set while DEBUG is off" in result.stderr


def test_production_with_a_real_provider_needs_its_webhook_secret():
    env = {**PRODUCTION_ENV, "PAYMENT_GATEWAY": "acme.pay.Gateway", "PAYMENT_WEBHOOK_SECRET": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "PAYMENT_WEBHOOK_SECRET is missing" in result.stderr


@pytest.mark.parametrize("secret", ["", "whsec-insecure-development-secret", "short"])
def test_production_needs_a_webhook_secret_of_its_own_with_the_mock_too(secret):
    """The development secret is in the source: with it anyone could forge a payment."""
    result = _manage("check", env={**PRODUCTION_ENV, "PAYMENT_WEBHOOK_SECRET": secret})
    assert result.returncode != 0
    assert "PAYMENT_WEBHOOK_SECRET" in result.stderr


def test_production_starts_with_a_webhook_secret_of_its_own():
    secret = "whsec_" + "k3" * 16
    result = _manage("check", env={**PRODUCTION_ENV, "PAYMENT_WEBHOOK_SECRET": secret})
    assert result.returncode == 0, result.stderr


def test_startup_fails_clearly_without_a_secret_key_when_debug_is_off():
    result = _manage("check", env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is missing or the development default while DEBUG is off" in result.stderr


def test_startup_refuses_the_development_key_when_debug_is_off():
    from config.settings import DEV_SECRET_KEY

    result = _manage("check", env={"DEBUG": "0", "SECRET_KEY": DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


def test_a_bad_boolean_is_a_clear_error():
    result = _manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize("name", ["TRAILERS_MINUTES", "REMINDER_MINUTES"])
def test_a_calendar_event_cannot_end_early_or_remind_after_the_start(name):
    result = _manage("check", env={"DEBUG": "1", name: "-5"})
    assert result.returncode != 0
    assert "TRAILERS_MINUTES and REMINDER_MINUTES must be 0 or more" in result.stderr


def test_check_deploy_is_clean_in_a_production_like_environment():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _example_value(name: str) -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f".env.example has no {name}")


def test_startup_refuses_the_placeholder_key_of_env_example_when_debug_is_off():
    placeholder = _example_value("SECRET_KEY")
    result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": placeholder})
    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder" in result.stderr


def test_startup_refuses_a_short_key_when_debug_is_off():
    result = _manage(
        "check", env={**PRODUCTION_ENV, "SECRET_KEY": "Zq8-short-but-random-31-chars-x"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY is shorter than 32 characters" in result.stderr


def test_with_debug_on_any_key_is_accepted():
    result = _manage("check", env={"DEBUG": "1", "SECRET_KEY": "change-me"})
    assert result.returncode == 0, result.stderr


def test_trusted_proxies_must_be_addresses_or_networks():
    result = _manage("check", env={"DEBUG": "1", "TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr and "proxy.local" in result.stderr


def test_a_redis_cluster_url_must_name_its_nodes():
    for bad in ("redis://a:7000,http://b:7000", "redis://a:7000/3", "a:7000"):
        result = _manage("check", env={"DEBUG": "1", "REDIS_CLUSTER_URL": bad})
        assert result.returncode != 0, bad
        assert "REDIS_CLUSTER_URL must be redis://host:port" in result.stderr, bad
    good = "redis://10.0.0.1:7000, redis://:secret@node-2.internal:7000/0,rediss://c:6380"
    assert _manage("check", env={"DEBUG": "1", "REDIS_CLUSTER_URL": good}).returncode == 0


SHOW_OVERLOAD_SETTINGS = (
    "from django.conf import settings; "
    "print(settings.DATABASES['default']['OPTIONS']['pool']['timeout'], "
    "settings.WEB_MAX_IN_FLIGHT, settings.OVERLOAD_WAIT_MS)"
)


def test_the_pool_wait_takes_fractions_of_a_second_and_admission_follows_the_pool_size():
    env = {
        "DEBUG": "1",
        "DATABASE_URL": "postgres://cinema@127.0.0.1:5432/cinema",
        "DATABASE_POOL_SIZE": "6",
        "DATABASE_POOL_TIMEOUT": "0.25",
    }
    result = _manage("shell", "-v", "0", "-c", SHOW_OVERLOAD_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.25", "6", "2000"]


def test_a_pool_wait_that_is_not_a_positive_number_is_a_clear_error():
    for value in ("half a second", "0"):
        result = _manage("check", env={"DEBUG": "1", "DATABASE_POOL_TIMEOUT": value})
        assert result.returncode != 0
        assert "DATABASE_POOL_TIMEOUT must be" in result.stderr


def test_production_refuses_to_start_without_a_ticket_signing_key():
    for key in ("", "change-me", "short"):
        result = _manage("check", env={**PRODUCTION_ENV, "TICKET_SIGNING_KEY": key})
        assert result.returncode != 0
        assert "TICKET_SIGNING_KEY is missing or not a key while DEBUG is off" in result.stderr
        assert "manage.py ticket_key" in result.stderr
