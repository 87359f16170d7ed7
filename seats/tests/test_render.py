"""Seat markup is rendered by the seat partial once per distinct look and reused: the reuse must
never carry one page's marks (selected, conflict, out-of-band) into another."""

import re

import pytest
from django.template.loader import get_template

from cinema.plans import get_plan
from seats.render import GAP, row_html, seat_html
from seats.seatmap import SeatState, compose_seat_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def seat_map(auditorium):
    return compose_seat_map(plan=get_plan(auditorium), booked={"A2"}, held={"A3"}, mine={"A4"})


def _row(seat_map, label):
    return next(views for row_label, views in filter(None, seat_map.rows) if row_label == label)


def _classes(html: str) -> dict[str, str]:
    return dict(
        (label, classes)
        for classes, label in re.findall(r'class="seat ([^"]*)" id="seat-(\w+)"', html)
    )


def test_a_seat_renders_exactly_as_the_partial_does(seat_map):
    partial = get_template("seats/_seat.html")
    for view in filter(None, _row(seat_map, "A")):
        for flags in ({}, {"oob": True}, {"selected": True, "conflict": True}):
            expected = partial.render(
                {"view": view, "oob": False, "selected": False, "conflict": False, **flags}
            )
            assert seat_html(view, **flags) == expected


def test_a_row_marks_only_this_pages_selected_and_conflicting_seats(seat_map):
    row = _row(seat_map, "A")
    marked = row_html(row, selected={"A5"}, conflicts={"A3"})
    plain = row_html(row)

    assert _classes(marked)["A3"] == "seat--held seat--standard seat--conflict"
    assert re.search(r'value="A5" checked', marked)
    assert "seat--conflict" not in plain and " checked" not in plain
    assert _classes(plain) == {
        "A1": "seat--available seat--standard",
        "A2": "seat--booked seat--standard",
        "A3": "seat--held seat--standard",
        "A4": "seat--mine seat--standard",
        "A5": "seat--available seat--standard",
        "A6": "seat--available seat--standard",
        "A7": "seat--available seat--standard",
        "A8": "seat--available seat--standard",
    }
    assert plain.count(GAP) == row.count(None)


def test_only_broadcast_fragments_are_out_of_band(seat_map):
    view = next(filter(None, _row(seat_map, "B")))
    assert view.state is SeatState.AVAILABLE
    assert 'hx-swap-oob="true"' in seat_html(view, oob=True)
    assert "hx-swap-oob" not in seat_html(view)
    assert "hx-swap-oob" not in row_html(_row(seat_map, "B"))
