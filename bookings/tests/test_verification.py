"""Holding seats needs a confirmed address: the customer is told why, gets the link, and comes
back to the seats they picked."""

import re
from urllib.parse import urlencode

import pytest
from django.core import mail

from bookings.models import Booking


@pytest.fixture
def newcomer(django_user_model):
    return django_user_model.objects.create_user("new", "new@example.com", "correct-horse-9")


def _hold(client, showtime, seats):
    return client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": seats})


def test_an_unconfirmed_customer_is_sent_a_link_that_brings_back_their_seats(
    client, showtime, newcomer
):
    client.force_login(newcomer)

    refused = _hold(client, showtime, ["A3", "A4"])

    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Confirm your email address before holding seats" in page
    assert "new@example.com" in page
    assert not Booking.objects.exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    link = re.search(r"http://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", mail.outbox[0].body)[1]

    confirmed = client.post(link)

    assert confirmed.status_code == 302
    back = confirmed["Location"]
    assert back.startswith(f"/showtimes/{showtime.pk}/?")
    seat_map = client.get(back).content.decode()
    for label in ("A3", "A4"):
        assert re.search(rf'value="{label}" checked', seat_map)
    assert _hold(client, showtime, ["A3", "A4"]).status_code == 303


def test_the_link_opened_signed_out_asks_to_sign_in_and_then_comes_back(client, showtime, newcomer):
    client.force_login(newcomer)
    _hold(client, showtime, ["B2"])
    link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", mail.outbox[0].body)[1]
    client.logout()

    confirmed = client.post(link)

    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith("/accounts/login/?next=")
    assert f"showtimes%2F{showtime.pk}%2F%3Fseats%3DB2" in confirmed["Location"]


def test_a_confirmed_customer_holds_at_once(client, showtime, user):
    client.force_login(user)
    assert _hold(client, showtime, ["A3"]).status_code == 303
    assert mail.outbox == []


@pytest.mark.parametrize("verification", ["optional", "mandatory"])
def test_the_sign_up_link_brings_back_the_seats_picked_before_signing_up(
    client, showtime, settings, verification
):
    settings.ACCOUNT_EMAIL_VERIFICATION = verification
    picked = showtime.selection_url(["A3", "A4"])
    client.post(
        f"/accounts/signup/?{urlencode({'next': picked})}",
        {
            "email": "new@example.com",
            "password1": "correct-horse-9",
            "password2": "correct-horse-9",
        },
    )
    link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", mail.outbox[0].body)[1]

    confirmed = client.post(link)

    assert confirmed.status_code == 302 and confirmed["Location"] == picked
    assert _hold(client, showtime, ["A3", "A4"]).status_code == 303


def test_a_sign_up_sent_elsewhere_is_not_sent_off_the_site(client, db):
    client.post(
        "/accounts/signup/?next=https://evil.example/",
        {
            "email": "new@example.com",
            "password1": "correct-horse-9",
            "password2": "correct-horse-9",
        },
    )
    link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", mail.outbox[0].body)[1]
    assert "evil" not in client.post(link)["Location"]
