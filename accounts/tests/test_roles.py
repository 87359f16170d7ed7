"""Everyone is a customer; a verified ADMIN_EMAILS address or promote_admin grants staff."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.tests.google import google_callback, start_google_login

PASSWORD = "correct-horse-battery"


def sign_in_with_google(client, google, *, email: str, verified: bool = True):
    google.userinfo.update(email=email, verified_email=verified)
    query = start_google_login(client)
    google_callback(client, state=query["state"], code="auth-code")
    return get_user_model().objects.get(email__iexact=email)


def test_an_admin_email_becomes_staff_and_superuser_on_google_sign_in(client, google, settings):
    settings.ADMIN_EMAILS = ["boss@example.com"]
    boss = sign_in_with_google(client, google, email="Boss@Example.com")
    assert boss.is_staff and boss.is_superuser
    assert client.get(reverse("admin:index")).status_code == 200


def test_other_google_users_stay_customers(client, google, settings):
    settings.ADMIN_EMAILS = ["boss@example.com"]
    customer = sign_in_with_google(client, google, email="fan@example.com")
    assert not customer.is_staff and not customer.is_superuser


def test_an_unverified_admin_email_does_not_become_staff(client, google, settings):
    settings.ADMIN_EMAILS = ["boss@example.com"]
    user = sign_in_with_google(client, google, email="boss@example.com", verified=False)
    assert not user.is_staff and not user.is_superuser


def test_a_returning_google_user_is_promoted_once_listed(client, google, settings):
    settings.ADMIN_EMAILS = []
    user = sign_in_with_google(client, google, email="boss@example.com")
    assert not user.is_staff
    client.post(reverse("account_logout"))
    settings.ADMIN_EMAILS = ["boss@example.com"]
    user = sign_in_with_google(client, google, email="boss@example.com")
    assert user.is_staff and user.is_superuser


def test_a_password_sign_up_with_an_admin_email_does_not_become_staff(client, db, settings):
    settings.ADMIN_EMAILS = ["boss@example.com"]
    client.post(
        reverse("account_signup"),
        {"email": "boss@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    user = get_user_model().objects.get(email="boss@example.com")
    assert not user.is_staff and not user.is_superuser


def test_promote_admin_grants_the_back_office(user, capsys):
    call_command("promote_admin", "ANN@example.com")
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser
    assert "ann@example.com can now use the back office" in capsys.readouterr().out


def test_promote_admin_of_an_unknown_email_is_a_clear_error(db):
    with pytest.raises(CommandError) as error:
        call_command("promote_admin", "nobody@example.com")
    assert "No user has the email 'nobody@example.com'" in str(error.value)


def test_anonymous_visitors_to_the_back_office_are_sent_to_sign_in(client, db):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert b"Sign in" in response.content


@pytest.mark.parametrize("path", ["/admin/", "/admin/auth/user/", "/admin/cinema/movie/"])
def test_customers_cannot_reach_the_back_office(client, user, path):
    client.force_login(user)
    response = client.get(path, follow=True)
    assert response.status_code == 403
    assert b"staff only" in response.content


def test_the_back_office_has_no_password_form_of_its_own(client, staff_user):
    response = client.post(
        reverse("admin:login"), {"username": "ops", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_staff_reach_the_back_office(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_back_office_keeps_no_oauth_secrets_or_tokens(client, staff_user):
    client.force_login(staff_user)
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/socialaccount/socialaccount/" in index
    assert "/admin/socialaccount/socialapp/" not in index
    assert "/admin/socialaccount/socialtoken/" not in index
