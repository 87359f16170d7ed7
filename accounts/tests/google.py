"""A stand-in for Google's OAuth servers, and the two browser steps of a Google sign-in."""

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.urls import reverse

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_USERINFO_URL = "https://www.googleapis.com/oauth2/v2/userinfo"


class GoogleServer:
    """Answers the token and userinfo requests allauth makes; any other request fails the test."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.token_status = 200
        self.userinfo = {
            "id": "108000000000000000001",
            "email": "ann.google@example.com",
            "verified_email": True,
            "given_name": "Ann",
            "family_name": "Lee",
        }

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        self.calls.append((method.upper(), url, kwargs))
        if url == GOOGLE_TOKEN_URL:
            if self.token_status != 200:
                return _json(self.token_status, {"error": "invalid_grant"})
            return _json(200, {"access_token": "ya29.test-token", "expires_in": 3599})
        if url == GOOGLE_USERINFO_URL:
            return _json(200, self.userinfo)
        raise AssertionError(f"unexpected outgoing request: {method} {url}")

    def token_requests(self) -> list[dict]:
        return [kwargs["data"] for _, url, kwargs in self.calls if url == GOOGLE_TOKEN_URL]


def _json(status: int, body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["content-type"] = "application/json"
    return response


def start_google_login(client, **params) -> dict[str, str]:
    """POST the sign-in button; return the query of the redirect to Google."""
    url = reverse("google_login")
    response = client.post(f"{url}?{urlencode(params)}" if params else url)
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc) == ("https", "accounts.google.com")
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def google_callback(client, **params):
    return client.get(reverse("google_callback"), params)


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")
