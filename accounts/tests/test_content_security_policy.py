"""Every page carries a CSP that allows only this site, with a fresh nonce for inline scripts."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

EXPECTED = [
    "default-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
]


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in header.split("; ")}


def nonce_of(response) -> str:
    match = re.fullmatch(r"script-src 'self' 'nonce-([\w-]+)'", policy_of(response)["script-src"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


@pytest.fixture
def pages(client, staff_user, movie, showtime):
    def get_all():
        return {
            "home": client.get(reverse("cinema:home")),
            "movie": client.get(movie.get_absolute_url()),
            "showtime": client.get(showtime.get_absolute_url()),
            "login": client.get(reverse("account_login")),
            "admin login": client.get(reverse("admin:login")),
        }

    def get_admin():
        client.force_login(staff_user)
        return {"admin": client.get(reverse("admin:index"))}

    return lambda: {**get_all(), **get_admin()}


def test_every_page_carries_the_policy(pages):
    for name, response in pages().items():
        policy = policy_of(response)
        assert [policy[part.split()[0]] for part in EXPECTED] == EXPECTED, name
        assert nonce_of(response), name


def test_the_nonce_changes_with_every_request(pages):
    first, second = pages(), pages()
    nonces = [nonce_of(response) for response in [*first.values(), *second.values()]]
    assert len(set(nonces)) == len(nonces)


def test_inline_scripts_carry_the_request_nonce(pages):
    for name, response in pages().items():
        if response.status_code != 200:
            continue
        html = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            inline = "src=" not in tag and 'type="application/json"' not in tag
            if inline:
                assert f'nonce="{nonce_of(response)}"' in tag, (name, tag)


def test_no_page_uses_inline_style_attributes(pages):
    for name, response in pages().items():
        assert not re.search(rb"<[^>]+\sstyle=", response.content), name


def test_frames_are_refused(client):
    response = client.get(reverse("cinema:home"))
    assert response["X-Frame-Options"] == "DENY"
