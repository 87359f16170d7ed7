"""Control characters (a NUL byte above all, which PostgreSQL cannot store) are refused at the edge
with a 400, before any view, query or audit event sees them."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from bookings.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _refused(response) -> None:
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "control character" in response.text
    assert response["X-Request-ID"]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/bookings/%00/",
        "/bookings/%00/pay/",
        "/bookings/abc%01def/",
        "/bookings/a%09b/",
        "/bookings/a%0Ab/",
        "/bookings/a%7Fb/",
        "/bookings/a%C2%85b/",
        "/bookings/?page=%00",
        "/bookings/?%00=1",
        "/bookings/?q=a%1Bb",
    ],
)
def test_control_characters_in_the_path_or_query_are_400(signed_in, url):
    _refused(signed_in.get(url))


def test_anonymous_requests_are_refused_too(client, db):
    _refused(client.get("/movies/%00/"))


@pytest.mark.parametrize("body", ["seats=A3%00", "seats%00=A3", "best=2%00", "seats=A3%08"])
def test_a_control_character_in_a_form_field_is_400_and_holds_nothing(signed_in, showtime, body):
    url = f"/showtimes/{showtime.pk}/hold/"
    _refused(signed_in.post(url, body, content_type="application/x-www-form-urlencoded"))
    assert not Booking.objects.exists()


def test_a_nul_in_a_multipart_form_field_is_400(signed_in, showtime):
    _refused(signed_in.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3", "A4\x00"]}))
    assert not Booking.objects.exists()


def test_tabs_and_newlines_in_form_fields_and_queries_pass(signed_in, showtime):
    assert signed_in.get("/bookings/?note=a%09b%0D%0Ac").status_code == 200
    response = signed_in.post(
        f"/showtimes/{showtime.pk}/hold/",
        "seats=A3%0D%0A&seats=%09A4",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 303
    assert Booking.objects.get().seat_labels == ["A3", "A4"]


def test_ordinary_unicode_passes(signed_in, showtime):
    assert signed_in.get("/bookings/?q=caf%C3%A9%20%E2%91%A1").status_code == 200
