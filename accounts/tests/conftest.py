"""Sign-in fixtures: Google without the network."""

import pytest
import requests

from accounts.tests.google import GoogleServer


@pytest.fixture
def google(db, settings, monkeypatch):
    """Google sign-in configured as settings would from GOOGLE_CLIENT_ID, with no network."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            **settings.SOCIALACCOUNT_PROVIDERS["google"],
            "APP": {"client_id": "test-client-id", "secret": "test-client-secret", "key": ""},
        }
    }
    server = GoogleServer()
    monkeypatch.setattr(
        requests.Session,
        "request",
        lambda session, method, url, **kwargs: server.request(method, url, **kwargs),
    )
    return server
