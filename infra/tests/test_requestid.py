"""A request id from outside is kept only when a configured proxy sent it."""

import re

import pytest

CHOSEN = "chosen-by-someone-1234"

pytestmark = pytest.mark.django_db


def _request_id(client, remote_addr: str, sent: str = CHOSEN) -> str:
    return client.get("/health", HTTP_X_REQUEST_ID=sent, REMOTE_ADDR=remote_addr)["X-Request-ID"]


def test_a_client_cannot_choose_its_request_id(client, settings):
    settings.TRUSTED_PROXIES = []
    request_id = _request_id(client, "203.0.113.9")
    assert request_id != CHOSEN
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_a_trusted_proxy_passes_its_request_id_on_and_no_one_else_does(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::1"]
    assert _request_id(client, "10.20.30.40") == CHOSEN
    assert _request_id(client, "::ffff:10.20.30.40") == CHOSEN
    assert _request_id(client, "2001:db8::1") == CHOSEN
    assert _request_id(client, "203.0.113.9") != CHOSEN
    assert _request_id(client, "2001:db8::2") != CHOSEN


def test_a_malformed_id_is_replaced_even_from_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request_id = _request_id(client, "10.0.0.1", sent="bad id with spaces")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
