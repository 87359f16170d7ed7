"""Signing in half-way through a booking brings the customer back to what they were doing."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from bookings import services
from bookings.models import Booking

PASSWORD = "correct-horse-battery"  # conftest.verified_user's


def _next_of(response) -> str:
    """The page a 303 to the sign-in form will come back to."""
    assert response.status_code == 303
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    return parse_qs(location.query)["next"][0]


def _sign_in(client, *, email: str, next_url: str):
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD, "next": next_url})


def test_holding_signed_out_signs_in_back_to_the_ticked_seats(client, user, showtime):
    response = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3", "A4"]})

    next_url = _next_of(response)
    assert next_url == f"/showtimes/{showtime.pk}/?seats=A3&seats=A4"
    signed_in = _sign_in(client, email=user.email, next_url=next_url)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == next_url
    page = client.get(signed_in["Location"])
    assert page.status_code == 200
    assert 'value="A3" checked' in page.text
    assert 'value="A4" checked' in page.text
    assert not Booking.objects.exists()  # ticked, not held: coming back is a plain GET


def test_holding_signed_out_through_htmx_leaves_the_page_for_the_sign_in_form(client, showtime):
    # htmx would follow a 303 inside the page and swap nothing: the browser must go there.
    response = client.post(
        f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    location = urlsplit(response["HX-Redirect"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"] == [f"/showtimes/{showtime.pk}/?seats=A3"]
    assert not Booking.objects.exists()


def test_best_available_signed_out_comes_back_to_the_seat_map(client, showtime):
    response = client.post(f"/showtimes/{showtime.pk}/hold/", {"best": "2"})
    assert _next_of(response) == f"/showtimes/{showtime.pk}/"


def test_the_way_back_ticks_no_more_seats_than_one_booking_takes(client, showtime, settings):
    settings.MAX_SEATS_PER_BOOKING = 2
    response = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A1", "A2", "A3"]})
    assert _next_of(response) == f"/showtimes/{showtime.pk}/?seats=A1&seats=A2"


@pytest.mark.parametrize("action", ["pay", "extend", "cancel"])
def test_a_booking_action_signed_out_signs_in_back_to_the_booking(action, user, showtime):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"], best=None)
    client = Client()

    response = client.post(f"/bookings/{booking.ref}/{action}/")

    next_url = _next_of(response)
    assert next_url == f"/bookings/{booking.ref}/"
    signed_in = _sign_in(client, email=user.email, next_url=next_url)
    assert signed_in["Location"] == next_url
    assert client.get(next_url).status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING  # nothing was done on the user's behalf
    assert not booking.payments.exists()


def _links_to(path: str, html: str) -> list[str]:
    return [unescape(link) for link in re.findall(rf'href="({path}[^"]*)"', html)]


def test_sign_in_and_sign_up_pages_link_to_each_other_keeping_the_way_back(client, db, showtime):
    next_url = f"/showtimes/{showtime.pk}/?seats=A3&seats=A4"

    login_page = client.get("/accounts/login/", {"next": next_url}).text
    signup_page = client.get("/accounts/signup/", {"next": next_url}).text

    for links in (
        _links_to("/accounts/signup/", login_page),
        _links_to("/accounts/login/", signup_page),
    ):
        assert links
        assert all(parse_qs(urlsplit(link).query).get("next") == [next_url] for link in links)


def test_signing_up_comes_back_to_the_ticked_seats(client, db, showtime):
    next_url = f"/showtimes/{showtime.pk}/?seats=A3&seats=A4"
    signed_up = client.post(
        "/accounts/signup/",
        {
            "email": "newcomer@example.com",
            "password1": "a-long-new-password-1",
            "password2": "a-long-new-password-1",
            "next": next_url,
        },
    )

    assert signed_up.status_code == 302
    assert signed_up["Location"] == next_url
    page = client.get(next_url)
    assert 'value="A3" checked' in page.text and 'value="A4" checked' in page.text


def test_signing_up_with_a_confirmation_link_comes_back_to_the_ticked_seats(
    client, db, showtime, settings, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # production's default
    next_url = f"/showtimes/{showtime.pk}/?seats=A3&seats=A4"
    client.post(
        "/accounts/signup/",
        {
            "email": "newcomer@example.com",
            "password1": "a-long-new-password-1",
            "password2": "a-long-new-password-1",
            "next": next_url,
        },
    )
    link = urlsplit(re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body)[0])

    confirmed = client.post(link.path)

    assert confirmed.status_code == 302
    assert confirmed["Location"] == next_url
