"""Google sign-in: POST only, state and PKCE on every attempt, and every failure signs nobody in."""

import base64
import hashlib
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.tests.google import google_callback, signed_in_user_id, start_google_login


def test_a_get_on_the_google_login_url_does_not_leave_the_site(client, google):
    response = client.get(reverse("google_login"))
    assert response.status_code == 200
    assert "Location" not in response
    assert b'<form method="post"' in response.content
    assert "socialaccount_states" not in client.session


def test_the_sign_in_button_posts_to_google_login(client, google):
    response = client.get(reverse("account_login"))
    assert (
        b'<form method="post" action="/accounts/google/login/?process=login">' in response.content
    )


def test_post_redirects_to_google_with_state_and_pkce(client, google):
    query = start_google_login(client)
    assert query["client_id"] == "test-client-id"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/accounts/google/login/callback/"
    assert set(query["scope"].split()) == {"email", "profile"}
    assert len(query["state"]) >= 16
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert "client_secret" not in query


def test_every_attempt_gets_its_own_state_and_challenge(client, google):
    first, second = start_google_login(client), start_google_login(client)
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


def test_callback_with_the_right_state_signs_in_the_google_user(client, google):
    query = start_google_login(client, next="/bookings/")
    response = google_callback(client, state=query["state"], code="auth-code-1")
    assert response.status_code == 302
    assert response["Location"] == "/bookings/"
    user = get_user_model().objects.get(email="ann.google@example.com")
    assert signed_in_user_id(client) == str(user.pk)
    assert user.socialaccount_set.get().uid == "108000000000000000001"
    assert not user.is_staff


def test_the_token_request_carries_the_code_verifier_of_the_challenge(client, google):
    query = start_google_login(client)
    google_callback(client, state=query["state"], code="auth-code-1")
    (token_request,) = google.token_requests()
    assert token_request["code"] == "auth-code-1"
    assert token_request["client_secret"] == "test-client-secret"
    assert token_request["redirect_uri"] == query["redirect_uri"]
    digest = hashlib.sha256(token_request["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]


@pytest.mark.parametrize(
    "state", ["not-the-state", "", None], ids=["wrong state", "empty state", "no state"]
)
def test_a_bad_or_missing_state_shows_the_error_page_and_signs_nobody_in(client, google, state):
    start_google_login(client)
    params = {"code": "auth-code-1"} if state is None else {"code": "auth-code-1", "state": state}
    response = google_callback(client, **params)
    assert response.status_code == 401
    assert b"Sign-in did not work" in response.content
    assert signed_in_user_id(client) is None
    assert google.calls == []
    assert not get_user_model().objects.exists()


def test_a_state_from_another_browser_is_refused(client, google):
    query = start_google_login(client)
    other = Client()
    response = google_callback(other, state=query["state"], code="auth-code-1")
    assert b"Sign-in did not work" in response.content
    assert signed_in_user_id(other) is None
    assert google.calls == []


def test_a_replayed_callback_is_refused(client, google):
    query = start_google_login(client)
    google_callback(client, state=query["state"], code="auth-code-1")
    client.post(reverse("account_logout"))
    response = google_callback(client, state=query["state"], code="auth-code-1")
    assert b"Sign-in did not work" in response.content
    assert signed_in_user_id(client) is None
    assert len(google.token_requests()) == 1


def test_access_denied_shows_the_cancelled_page(client, google):
    query = start_google_login(client)
    response = google_callback(client, state=query["state"], error="access_denied")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b"Sign-in cancelled" in page.content
    assert signed_in_user_id(client) is None
    assert google.calls == []


def test_another_error_from_google_shows_the_error_page(client, google):
    query = start_google_login(client)
    response = google_callback(client, state=query["state"], error="server_error")
    assert b"Sign-in did not work" in response.content
    assert signed_in_user_id(client) is None


def test_a_failed_token_exchange_shows_the_error_page_and_is_logged(client, google, caplog):
    google.token_status = 400
    query = start_google_login(client)
    with caplog.at_level(logging.WARNING, logger="accounts.adapter"):
        response = google_callback(client, state=query["state"], code="expired-code")
    assert response.status_code == 401
    assert b"Sign-in did not work" in response.content
    assert signed_in_user_id(client) is None
    assert not get_user_model().objects.exists()
    assert "google sign-in failed: unknown (OAuth2Error)" in caplog.text
    assert "invalid_grant" not in caplog.text


def test_the_session_key_changes_on_google_sign_in(client, google):
    query = start_google_login(client)
    before = client.session.session_key
    google_callback(client, state=query["state"], code="auth-code-1")
    assert signed_in_user_id(client) is not None
    assert client.session.session_key != before


def test_a_returning_google_user_signs_in_to_the_same_account(client, google):
    query = start_google_login(client)
    google_callback(client, state=query["state"], code="auth-code-1")
    client.post(reverse("account_logout"))
    query = start_google_login(client)
    google_callback(client, state=query["state"], code="auth-code-2")
    assert get_user_model().objects.count() == 1
    assert signed_in_user_id(client) == str(get_user_model().objects.get().pk)


def test_without_a_client_id_there_is_no_google_sign_in(client, db):
    assert b"Continue with Google" not in client.get(reverse("account_login")).content
    assert client.post(reverse("google_login")).status_code == 404
    assert client.get(reverse("google_callback"), {"state": "x", "code": "y"}).status_code == 404


def test_a_google_email_that_belongs_to_a_password_account_does_not_sign_into_it(
    client, google, user
):
    google.userinfo["email"] = user.email
    query = start_google_login(client)
    response = google_callback(client, state=query["state"], code="auth-code-1")
    assert response.status_code == 302
    assert signed_in_user_id(client) is None
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Finish signing up" in page.content
    assert not user.socialaccount_set.exists()
