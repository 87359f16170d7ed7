"""Stripe's settings, checked at start-up in fresh processes (the real settings module is read)."""

import json

import pytest

from config.tests.test_settings import PRODUCTION_ENV, _manage

STRIPE = "payments.stripe.gateway.StripeGateway"
LIVE = {
    **PRODUCTION_ENV,
    "PAYMENT_GATEWAY": STRIPE,
    "STRIPE_SECRET_KEY": "sk_live_51Marquee",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51Marquee",
    "STRIPE_WEBHOOK_SECRET": "whsec_live_endpoint_secret",
    "PAYMENT_WEBHOOK_SECRET": "",
}
TEST_KEYS = {"STRIPE_SECRET_KEY": "sk_test_51Marquee", "STRIPE_PUBLISHABLE_KEY": "pk_test_51M"}


def test_production_starts_with_live_keys_and_the_endpoint_secret():
    result = _manage("check", env=LIVE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"DEBUG": "1"}, "A live Stripe key while DEBUG is on"),
        (TEST_KEYS, "A test Stripe key while DEBUG is off"),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET is missing"),
        ({"STRIPE_SECRET_KEY": ""}, "STRIPE_SECRET_KEY is missing or not a secret key"),
        ({"STRIPE_SECRET_KEY": "pk_live_51Marquee"}, "STRIPE_SECRET_KEY is missing or not"),
        ({"STRIPE_PUBLISHABLE_KEY": ""}, "STRIPE_PUBLISHABLE_KEY is missing"),
        ({"STRIPE_PUBLISHABLE_KEY": "pk_test_51M"}, "must be both test or both live keys"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, "live keys only ever go to Stripe"),
        ({"CURRENCY": "KWD"}, "has three decimal places"),
    ],
)
def test_stripe_settings_that_must_not_start_say_why(change, error):
    result = _manage("check", env={**LIVE, **change})
    assert result.returncode != 0
    assert error in result.stderr


def test_a_staging_site_takes_test_keys_when_it_says_so():
    env = {**LIVE, **TEST_KEYS, "STRIPE_ALLOW_TEST_KEYS": "1"}
    assert _manage("check", env=env).returncode == 0


def test_development_with_test_keys_needs_the_endpoint_secret_too():
    """The development secret cannot check Stripe's signatures: a webhook would be refused."""
    env = {**LIVE, **TEST_KEYS, "DEBUG": "1", "STRIPE_WEBHOOK_SECRET": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET is missing" in result.stderr


def _policy(env) -> dict:
    script = (
        "from django.conf import settings; import json; "
        "print(json.dumps(settings.CONTENT_SECURITY_POLICY))"
    )
    result = _manage("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_csp_allows_stripe_js_only_when_stripe_is_the_provider():
    on = _policy(LIVE)
    assert "https://js.stripe.com" in on["script-src"]
    assert "https://js.stripe.com" in on["frame-src"]
    assert "https://hooks.stripe.com" in on["frame-src"]
    assert "https://api.stripe.com" in on["connect-src"]
    off = _policy(PRODUCTION_ENV)
    assert "stripe" not in json.dumps(off)
