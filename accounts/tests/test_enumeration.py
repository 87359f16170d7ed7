"""Sign-up never tells a stranger whether an email already has an account."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

PASSWORD = "another-horse-battery"

pytestmark = pytest.mark.django_db


@pytest.fixture
def mandatory(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"


def sign_up(client: Client, email: str):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_sign_up_with_a_taken_email_looks_like_any_sign_up_and_mails_the_owner(
    mandatory, user, mailoutbox
):
    taken, fresh = Client(), Client()
    taken_response = sign_up(taken, "ann@example.com")
    fresh_response = sign_up(fresh, "new@example.com")

    assert taken_response.status_code == fresh_response.status_code == 302
    assert taken_response["Location"] == fresh_response["Location"]
    assert "_auth_user_id" not in taken.session and "_auth_user_id" not in fresh.session
    taken_page = taken.get(taken_response["Location"]).content.decode()
    fresh_page = fresh.get(fresh_response["Location"]).content.decode()
    assert "already registered" not in taken_page
    assert taken_page.replace("ann@example.com", "new@example.com") == fresh_page

    assert get_user_model().objects.filter(email__iexact="ann@example.com").count() == 1
    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects == {
        "ann@example.com": "[Marquee Cinemas] Account Already Exists",
        "new@example.com": "[Marquee Cinemas] Please Confirm Your Email Address",
    }


def test_a_new_customer_is_signed_in_by_the_link_in_the_same_browser(
    mandatory, mailoutbox, settings
):
    client = Client()
    sign_up(client, "new@example.com")
    assert "_auth_user_id" not in client.session

    origin = re.escape(settings.SITE_URL)
    link = re.search(rf"{origin}(/accounts/confirm-email/\S+/)", mailoutbox[0].body)
    assert link
    response = client.post(link.group(1))
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
