"""Every seat says what it is to a screen reader: label, kind and state, selectable or not."""

import re

import pytest

from seats.render import list_row_html, row_html, seat_name
from seats.seatmap import compose_seat_map, get_plan

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
