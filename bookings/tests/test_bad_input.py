"""No input makes the hold endpoint fail: malformed requests are a 400 with a message, counted by
the rate limit like any other, never a system error, and nothing they carry is echoed at length."""

import re

import pytest

from audit.models import AuditEvent
from bookings.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_url(showtime) -> str:
    return f"/showtimes/{showtime.pk}/hold/"


# Superscript two, circled two, Arabic-Indic three, fullwidth three: all pass str.isdigit().
@pytest.mark.parametrize(
    "best", ["²", "②", "٣", "\uff13", "1" * 50, "-1", "+2", "2.0", " 2", "2\n"]
)
def test_best_available_takes_ascii_digits_only(client, user, showtime, best):
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"best": best})
    assert response.status_code == 400
    assert "Best available needs a number of seats." in response.text
    assert not Booking.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_flood_of_malformed_hold_requests_is_rate_limited(client, user, showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (3, 60)}
    client.force_login(user)
    bad = [{"best": "²"}, {"best": "many"}, {"best": "2", "seats": ["A1"]}]
    assert [client.post(_hold_url(showtime), data).status_code for data in bad] == [400] * 3
    response = client.post(_hold_url(showtime), {"best": "²"})
    assert response.status_code == 429
    assert "Too many requests" in response.text
    assert client.post(_hold_url(showtime), {"seats": ["A3"]}).status_code == 429
    assert not AuditEvent.objects.exists()


def test_a_malformed_request_counts_once_and_a_good_one_once(client, user, showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (3, 60)}
    client.force_login(user)
    assert client.post(_hold_url(showtime), {"best": "②"}).status_code == 400
    assert client.post(_hold_url(showtime), {"seats": ["A3"]}).status_code == 303
    assert client.post(_hold_url(showtime), {"seats": ["A4"]}).status_code == 303
    assert client.post(_hold_url(showtime), {"seats": ["A5"]}).status_code == 429


def test_a_huge_seat_label_is_not_echoed(client, user, showtime):
    client.force_login(user)
    usual = client.post(_hold_url(showtime), {"seats": ["Z9"]})
    response = client.post(_hold_url(showtime), {"seats": ["Q" * 100_000]})
    assert response.status_code == 400
    assert "There is no seat QQQQQQQQ… in this auditorium." in response.text
    assert len(response.content) < len(usual.content) + 100
    assert response.context["selected"] == set()


def test_many_labels_in_a_message_are_a_few_and_a_count(client, user, showtime):
    client.force_login(user)
    labels = [f"Z{n}" for n in range(1, 41)]
    response = client.post(_hold_url(showtime), {"seats": labels * 2})
    assert response.status_code == 400
    assert "Seats Z1, Z10, Z11, Z12, Z13, … and 35 more are listed more than once." in response.text
    alert = re.search(r'role="alert">(.*?)</div>', response.text, re.DOTALL).group(1)
    assert len(re.findall(r"Z\d+", alert)) == 5


def test_unknown_seats_are_named_in_the_plural(client, user, showtime):
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["A3", "Z8", "Z9"]})
    assert response.status_code == 400
    assert "There are no seats Z8, Z9 in this auditorium." in response.text


def test_the_error_page_reticks_only_real_seats(client, user, showtime):
    client.force_login(user)
    response = client.post(_hold_url(showtime), {"seats": ["A3", "Z9", "<b>"]})
    assert response.status_code == 400
    assert response.context["selected"] == {"A3"}
    assert "<span data-selected-count>1</span>" in response.text
    assert set(re.findall(r'value="([A-Z]+\d+)" checked', response.text)) == {"A3"}
