"""Customers are called by their name or email, never the username made up at sign-up; the
sign-in page offers "or with your email" only when there is another way in."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.adapter import display_name
from conftest import verified_user

PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.django_db


def test_signing_in_says_the_email_not_the_username(client):
    verified_user("ana")

    response = client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": PASSWORD}
    )

    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert said == ["Successfully signed in as ana@example.com."]


def test_a_name_is_used_when_there_is_one(db):
    assert display_name(verified_user("ana", first_name="Ana", last_name="Lima")) == "Ana Lima"


def test_the_confirmation_email_names_no_username(client, mailoutbox):
    client.post(
        reverse("account_signup"),
        {"email": "ana@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    (email,) = mailoutbox
    assert "because this address was used to create an account" in email.body
    assert "user ana " not in email.body


@pytest.mark.parametrize("path", ["account_login", "account_signup"])
def test_without_google_there_is_no_or_with_your_email(client, path):
    page = client.get(reverse(path))
    assert "Continue with Google" not in page.text
    assert "or with your email" not in page.text
    assert 'class="auth-form"' in page.text


@pytest.mark.parametrize("path", ["account_login", "account_signup"])
def test_with_google_the_email_form_is_the_other_way_in(client, google, path):
    page = client.get(reverse(path))
    assert page.text.index("Continue with Google") < page.text.index("or with your email")
