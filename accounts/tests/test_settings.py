"""Sign-in settings come from the environment; checked in fresh processes that read them."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'providers': s.SOCIALACCOUNT_PROVIDERS, "
    "'form_action': s.CONTENT_SECURITY_POLICY['form-action'], "
    "'verification': s.ACCOUNT_EMAIL_VERIFICATION, 'admins': s.ADMIN_EMAILS, "
    "'rate_limits': s.ACCOUNT_RATE_LIMITS}))"
)
PRODUCTION_KEY = "x7Qp2-production-like-secret-key-with-plenty-of-entropy-9fKz0LmN3vB"


def _settings(**env: str) -> subprocess.CompletedProcess:
    names = {
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "ADMIN_EMAILS",
        "ACCOUNT_EMAIL_VERIFICATION",
        "SIGNUP_RATE_LIMIT",
    }
    base = {key: value for key, value in os.environ.items() if key not in names}
    return subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=ROOT,
        env={**base, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_google_comes_from_the_environment_with_pkce_and_two_scopes():
    result = _settings(
        GOOGLE_CLIENT_ID="id.apps.googleusercontent.com",
        GOOGLE_CLIENT_SECRET="s3cret",
        ADMIN_EMAILS="Boss@Example.com, ops@example.com",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    google = loaded["providers"]["google"]
    assert google["APP"] == {
        "client_id": "id.apps.googleusercontent.com",
        "secret": "s3cret",
        "key": "",
    }
    assert google["OAUTH_PKCE_ENABLED"] is True
    assert google["SCOPE"] == ["email", "profile"]
    assert loaded["form_action"] == ["'self'", "https://accounts.google.com"]
    assert loaded["admins"] == ["boss@example.com", "ops@example.com"]


def test_without_a_client_id_there_is_no_google_sign_in_and_forms_stay_on_the_site():
    loaded = json.loads(_settings().stdout)
    assert "APP" not in loaded["providers"]["google"]
    assert loaded["form_action"] == ["'self'"]


def test_email_verification_is_optional_by_default_and_configurable():
    assert json.loads(_settings().stdout)["verification"] == "optional"
    mandatory = _settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
    assert json.loads(mandatory.stdout)["verification"] == "mandatory"
    wrong = _settings(ACCOUNT_EMAIL_VERIFICATION="sometimes")
    assert wrong.returncode != 0
    assert "ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory" in wrong.stderr


def test_without_debug_sign_up_waits_for_the_emailed_link_so_it_reveals_no_account():
    production = _settings(
        DEBUG="0",
        SECRET_KEY=PRODUCTION_KEY,
        TICKET_SIGNING_KEY="bJ0cTQ2cF4x8wq1yZpV7hL3nK9sD5gR2tU6mE0aW4oI",
        PAYMENT_GATEWAY="payments.mock.gateway.MockGateway",
        PAYMENT_WEBHOOK_SECRET="whsec_a-production-like-webhook-secret",
    )
    assert production.returncode == 0, production.stderr
    assert json.loads(production.stdout)["verification"] == "mandatory"


def test_sign_ups_are_limited_per_address_per_hour_and_configurable():
    assert json.loads(_settings().stdout)["rate_limits"]["signup"] == "10/h/ip"
    loaded = json.loads(_settings(SIGNUP_RATE_LIMIT="3").stdout)
    assert loaded["rate_limits"]["signup"] == "3/h/ip"
    assert loaded["rate_limits"]["login"] == "30/m/ip"
