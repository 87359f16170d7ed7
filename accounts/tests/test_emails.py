"""allauth's emails come from the cinema, by its name, and link to SITE_URL whatever Host the
request arrived with (behind a proxy it is an internal address)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

PASSWORD = "another-horse-battery"

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal_client(settings):
    settings.SITE_URL = "https://tickets.example.com"
    settings.ALLOWED_HOSTS = ["internal"]
    return Client(HTTP_HOST="internal:9000")


def test_the_sign_up_email_names_the_cinema_and_links_to_the_site_url(internal_client, mailoutbox):
    internal_client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    (email,) = mailoutbox
    assert email.subject == "[Marquee Cinemas] Please Confirm Your Email Address"
    assert "Marquee Cinemas" in email.body and "tickets.example.com" in email.body
    assert "internal" not in email.body
    link = r"(?<!\S)https://tickets\.example\.com/accounts/confirm-email/\S+/$"
    assert re.search(link, email.body, re.MULTILINE)


def test_the_password_reset_email_links_to_the_site_url(internal_client, user, mailoutbox):
    internal_client.post(reverse("account_reset_password"), {"email": user.email})
    (email,) = mailoutbox
    assert email.subject.startswith("[Marquee Cinemas] ")
    assert "internal" not in email.body
    link = r"(?<!\S)https://tickets\.example\.com/accounts/password/reset/key/\S+/$"
    assert re.search(link, email.body, re.MULTILINE)
