"""Email and password: sign-up, sign-in, throttled failures, session rotation, POST sign-out."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.django_db


def sign_in(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sign_up_with_email_and_password_signs_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not user.is_staff


def test_sign_in_with_email_and_password(client, user):
    response = sign_in(client, "ann@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_wrong_password_signs_nobody_in(client, user):
    response = sign_in(client, "ann@example.com", "wrong-password")
    assert response.status_code == 200
    assert b"The email address and/or password you specified are not correct." in response.content
    assert "_auth_user_id" not in client.session


def test_the_session_key_changes_on_sign_in(client, user):
    before = client.session.session_key
    assert before
    sign_in(client, "ann@example.com", PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session.session_key != before


def test_repeated_failures_are_throttled_in_redis(client, user, redis_db):
    for _ in range(5):
        sign_in(client, "ann@example.com", "wrong-password")
    response = sign_in(client, "ann@example.com", PASSWORD)
    assert b"Too many failed sign-ins for this email from your network" in response.content
    assert "_auth_user_id" not in client.session
    assert redis_db.keys("cache:*")


def test_sign_out_needs_a_post(client, user):
    client.force_login(user)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200
    assert client.session["_auth_user_id"] == str(user.pk)
    assert b'<form method="post" action="/accounts/logout/"' in page.content
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_header_offers_sign_in_and_sign_up_to_visitors(client, showtime):
    page = client.get(showtime.get_absolute_url()).content.decode()
    assert f'href="/accounts/login/?next=/showtimes/{showtime.pk}/"' in page
    assert f'href="/accounts/signup/?next=/showtimes/{showtime.pk}/"' in page
    assert "Sign out" not in page


def test_the_header_signs_out_with_a_post_form(client, user):
    client.force_login(user)
    page = client.get(reverse("cinema:home")).content.decode()
    form = re.search(r'<form method="post" action="/accounts/logout/".*?</form>', page, re.S)
    assert form
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert "ann@example.com" in page


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_account_pages_use_the_site_layout(client, name):
    page = client.get(reverse(name)).content.decode()
    assert 'class="topbar"' in page
    assert "/static/css/site.css" in page
    assert 'class="page page--auth"' in page
