"""Sign-in and sign-up limits, counted in the shared Redis cache per client address."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

PASSWORD = "correct-horse-battery"
GUESSER = "203.0.113.66"
OWNER = "198.51.100.7"

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def sign_up(address: str, email: str):
    return Client(REMOTE_ADDR=address).post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_failed_guesses_from_one_address_do_not_lock_the_owner_out_of_another(bob):
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(5):
        assert sign_in(guesser, "bob@example.com", "wrong-password").status_code == 200

    owner = Client(REMOTE_ADDR=OWNER)
    response = sign_in(owner, "bob@example.com", PASSWORD)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(bob.pk)

    refused = sign_in(guesser, "bob@example.com", PASSWORD)
    assert "_auth_user_id" not in guesser.session
    assert (
        "Too many failed sign-ins for this email from your network. Try again in a few minutes."
        in refused.content.decode()
    )


def test_the_guessing_address_may_still_sign_in_to_other_accounts(bob, user):
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(5):
        sign_in(guesser, "bob@example.com", "wrong-password")
    assert sign_in(guesser, "ann@example.com", PASSWORD).status_code == 302
    assert guesser.session["_auth_user_id"] == str(user.pk)


def test_sign_ups_from_one_address_are_limited_and_others_are_not(settings):
    allowed = settings.SIGNUP_RATE_LIMIT
    for number in range(allowed):
        assert sign_up(GUESSER, f"bulk{number}@example.com").status_code == 302

    refused = sign_up(GUESSER, "one-too-many@example.com")
    assert refused.status_code == 429
    assert "Too many sign-ups from your network" in refused.content.decode()
    assert not get_user_model().objects.filter(email="one-too-many@example.com").exists()

    assert sign_up(OWNER, "someone-else@example.com").status_code == 302
    assert get_user_model().objects.filter(email="someone-else@example.com").exists()
