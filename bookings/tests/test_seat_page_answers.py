"""Every answer to the seat form is said in the bar beside its button, a live region; a showtime
sold through its waiting room says so before any seat is picked."""

import re

import pytest
from django.test import Client

from bookings.models import Booking
from conftest import open_waiting_room
from waitingroom import services as waiting_room

pytestmark = pytest.mark.django_db


def _bar(page) -> str:
    """The seat form's bar: from its opening tag to the end of the form."""
    text = page.content.decode()
    start = text.index('<div class="selection-bar">')
    return text[start : text.index("</form>", start)]


def _hold_message(html: str) -> str:
    found = re.search(r'<div id="hold-message"[^>]*>(.*?)</div>\s*<div role="status"', html, re.S)
    return found.group(1)


def test_a_refused_hold_is_said_in_the_alert_beside_the_button(client, user, bob, showtime):
    client.force_login(bob)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]})
    client.force_login(user)

    page = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3", "A4"]})

    assert page.status_code == 409
    bar = _bar(page)
    assert re.search(r'<div id="hold-message" class="hold-message" role="alert">', bar)
    assert "Taken: A3" in _hold_message(bar)
    assert bar.index("hold-message") < bar.index("Hold seats")


def test_for_htmx_the_refusal_fills_the_same_live_region(client, user, bob, showtime):
    client.force_login(bob)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]})
    client.force_login(user)

    answer = client.post(
        f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]}, headers={"HX-Request": "true"}
    )

    assert answer.status_code == 409
    # Its content replaced, the region itself stays: screen readers announce what lands in it.
    assert '<div id="hold-message" hx-swap-oob="innerHTML">' in answer.text
    assert "Taken: A3" in answer.text


def test_too_many_seats_are_refused_beside_the_button(client, user, showtime, settings):
    settings.MAX_SEATS_PER_BOOKING = 2
    client.force_login(user)

    page = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A1", "A2", "A3"]})

    assert page.status_code == 400
    assert "2" in _hold_message(_bar(page))
    assert not Booking.objects.exists()


def test_the_page_tells_the_script_the_most_seats_one_booking_takes(client, showtime, settings):
    settings.MAX_SEATS_PER_BOOKING = 7
    page = client.get(showtime.get_absolute_url())
    assert 'data-max="7"' in page.text
    assert "up to 7" in _bar(page)


def test_best_available_says_which_ticked_seats_it_replaces(client, user, showtime):
    client.force_login(user)

    page = client.get(showtime.get_absolute_url(), {"best": "2", "seats": ["C1", "nope"]})

    assert "C1" not in page.context["suggestion"].labels
    bar = _bar(page)
    assert "instead of C1." in bar and "nope" not in bar
    assert "Best available: <strong>" in bar


def test_best_available_says_it_replaces_ticked_seats_before_it_is_pressed(client, showtime):
    page = client.get(showtime.get_absolute_url())
    assert 'aria-describedby="best-replaces"' in page.text
    assert "This replaces any seats ticked on the map." in page.text


def test_the_legend_shows_selected_seats(client, showtime):
    page = client.get(showtime.get_absolute_url())
    selected = r'<span class="seat seat--selected" aria-hidden="true"></span> Selected'
    assert re.search(selected, page.text)


def test_a_showtime_sold_through_its_queue_says_so_before_seats_are_picked(client, user, showtime):
    room = open_waiting_room(showtime)
    client.force_login(user)

    page = client.get(room.get_absolute_url())

    assert "sold through a queue" in page.text
    assert f'href="/showtimes/{room.pk}/queue/"' in page.text
    assert 'id="seat-form"' not in page.text  # nothing to pick and lose at the Hold button


def test_once_let_in_the_seats_can_be_picked(user, showtime):
    room = open_waiting_room(showtime)
    buyer = Client()
    buyer.force_login(user)
    buyer.get(f"/showtimes/{room.pk}/queue/")
    waiting_room.admit_pass()
    buyer.get(f"/showtimes/{room.pk}/queue/")

    page = buyer.get(room.get_absolute_url())

    assert 'id="seat-form"' in page.text
    assert "sold through a queue" not in page.text
