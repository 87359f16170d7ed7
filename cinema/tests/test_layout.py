import pytest

from cinema.layout import LayoutError, parse_layout


def test_seats_are_numbered_across_gaps_and_aisles():
    layout = parse_layout("A  ss.s|ss\nB  ssss|ss")
    row_a = [(seat.label, seat.x) for seat in layout.seats if seat.row == "A"]
    assert row_a == [("A1", 0), ("A2", 1), ("A3", 3), ("A4", 5), ("A5", 6)]
    assert layout.aisles == frozenset({4})
    assert layout.width == 7


def test_cross_aisle_adds_vertical_space():
    layout = parse_layout("A  ss\n-\nB  ss")
    assert {seat.row: seat.y for seat in layout.seats} == {"A": 0, "B": 2}
    assert layout.height == 3


def test_kinds_and_blocked_seats():
    layout = parse_layout("A  acxs")
    kinds = [(seat.label, seat.kind, seat.blocked) for seat in layout.seats]
    assert kinds == [
        ("A1", "accessible", False),
        ("A2", "companion", False),
        ("A3", "standard", True),
        ("A4", "standard", False),
    ]


def test_premium_and_vip_seats_are_categories_of_their_own():
    layout = parse_layout("A  sp|vx")
    kinds = [(seat.label, seat.kind, seat.blocked) for seat in layout.seats]
    assert kinds == [
        ("A1", "standard", False),
        ("A2", "premium", False),
        ("A3", "vip", False),
        ("A4", "standard", True),
    ]


def test_comments_and_blank_lines_are_ignored():
    layout = parse_layout("# the screen is up here\n\nA  ss  # front row\n\nB  ss\n")
    assert [seat.label for seat in layout.seats] == ["A1", "A2", "B1", "B2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A  ssqs", "line 1, column 6: unknown cell 'q'"),
        ("A  ss\nB  s s", "line 2, column 5: unknown cell ' '"),
        ("A  ss\n1A  ss", "line 2, column 1: row label must be 1 to 3 capital letters"),
        ("A  ss\nB  ss\nA  ss", "line 3: row A appears twice (first on line 1)"),
        ("A  ..|..", "line 1: row A has no seats"),
        ("ssss", "line 1: expected a row label"),
        ("-\nA  ss", "line 1: a cross aisle cannot come before the first row"),
        ("# nothing\n\n", "the layout has no rows"),
    ],
)
def test_malformed_layouts_are_rejected_with_the_position(text, message):
    with pytest.raises(LayoutError) as error:
        parse_layout(text)
    assert message in str(error.value)
