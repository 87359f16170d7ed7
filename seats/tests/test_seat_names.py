"""Every seat says what it is to a screen reader: label, kind and state, selectable or not."""

import re

import pytest

from cinema.plans import get_plan
from seats.render import list_row_html, row_html, seat_name
from seats.seatmap import compose_seat_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(auditorium):
    seat_map = compose_seat_map(plan=get_plan(auditorium), booked={"A2"}, held={"A3"}, mine={"A4"})
    return next(views for label, views in filter(None, seat_map.rows) if label == "A")


def test_selectable_seats_are_checkboxes_named_by_label_kind_and_state(row):
    html = row_html(row)

    assert re.search(r'value="A1" aria-label="A1, standard seat, available"', html)
    assert re.search(r'value="A4" aria-label="A4, standard seat, held for you"', html)


def test_seats_that_cannot_be_chosen_are_still_perceivable(row):
    html = row_html(row)

    assert 'id="seat-A2" role="img" aria-label="A2, standard seat, sold"' in html
    assert 'id="seat-A3" role="img" aria-label="A3, standard seat, being booked"' in html
    assert 'value="A2"' not in html and 'value="A3"' not in html


def test_the_list_offers_the_same_seats_and_disables_the_taken_ones(row):
    html = list_row_html(row, selected={"A5"})

    assert [seat_name(view) for view in row if view] == re.findall(
        r"<span data-seat-name>([^<]*)</span>", html
    )
    assert re.findall(r'value="(\w+)"[^>]* disabled', html) == ["A2", "A3"]
    assert re.findall(r'value="(\w+)" checked', html) == ["A5"]


def test_premium_and_vip_seats_are_named_and_explained_by_the_legend(client, showtime):
    """A category is said in the seat's name and described by its legend entry, which the page
    shows only for a hall that has such seats."""
    from cinema.models import Seat

    page = client.get(showtime.get_absolute_url()).text
    assert 'id="seat-kind-premium"' not in page and 'id="seat-kind-vip"' not in page
    Seat.objects.filter(auditorium=showtime.auditorium, label="B1").update(kind="premium")
    Seat.objects.filter(auditorium=showtime.auditorium, label="B2").update(kind="vip")
    showtime.auditorium.save()  # a new layout version: the plan is built again
    page = client.get(showtime.get_absolute_url()).text
    assert 'aria-label="B1, premium seat, available" aria-describedby="seat-kind-premium"' in page
    assert 'aria-label="B2, VIP recliner, available" aria-describedby="seat-kind-vip"' in page
    assert 'id="seat-kind-premium"' in page and 'id="seat-kind-vip"' in page
