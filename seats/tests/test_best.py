import pytest

from cinema.models import Auditorium
from cinema.plans import get_plan
from cinema.services import save_auditorium
from seats.best import ranked_blocks


def best_available(*, plan, taken, count):
    """The best block's seats, or None."""
    blocks = ranked_blocks(plan=plan, taken=taken, count=count, limit=1)
    return blocks[0].labels if blocks else None


def _plan(layout: str):
    return get_plan(save_auditorium(auditorium=Auditorium(name="Best", layout=layout)))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("layout", "taken", "count", "expected"),
    [
        # Middle of the middle row, side by side.
        ("A  ssssss\nB  ssssss\nC  ssssss", set(), 2, ["B3", "B4"]),
        ("A  sssssss\nB  sssssss\nC  sssssss", set(), 3, ["B3", "B4", "B5"]),
        # Never split across an aisle.
        ("A  sss|sss", set(), 4, None),
        ("A  ssss|ss", set(), 2, ["A3", "A4"]),
        # Taken seats in the middle push the pick aside.
        ("A  sssssss", {"A3", "A4", "A5"}, 2, ["A1", "A2"]),
        # Blocked seats and wheelchair spaces are never picked.
        ("A  sxs", set(), 2, None),
        ("A  acss", set(), 2, ["A3", "A4"]),
        # Nothing left together.
        ("A  s.s.s", set(), 2, None),
    ],
)
def test_best_available_picks_adjacent_seats_near_the_middle(layout, taken, count, expected):
    assert best_available(plan=_plan(layout), taken=taken, count=count) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("layout", "taken", "count", "expected"),
    [
        # The centre pair of five would leave a lone seat against the wall.
        ("A  sssss", set(), 2, ["A1", "A2"]),
        ("A  sssss", {"A1"}, 2, ["A2", "A3"]),  # A4-A5 left as a pair
        ("A  ssss", {"A1"}, 2, ["A2", "A3"]),  # A3-A4 would strand A2 next to taken A1
        ("A  sss|ssss", set(), 2, ["A4", "A5"]),  # A5-A6 would strand A4 at the aisle
        ("A  sssss", {"A3"}, 2, ["A1", "A2"]),  # either pair fills a side; no stranding
    ],
)
def test_best_available_never_strands_a_single_seat(layout, taken, count, expected):
    picked = best_available(plan=_plan(layout), taken=taken, count=count)
    assert picked == expected


@pytest.mark.django_db
def test_stranding_is_accepted_when_nothing_else_fits():
    # Three seats between walls, two wanted: any pair strands one.
    assert best_available(plan=_plan("A  sss"), taken=set(), count=2) in (
        ["A1", "A2"],
        ["A2", "A3"],
    )


@pytest.mark.django_db
def test_ranked_blocks_come_best_first_each_guarding_the_seats_beside_it():
    plan = _plan("A  ssssssss\nB  ssssssss\nC  ssssssss")
    blocks = ranked_blocks(plan=plan, taken={"B1"}, count=2, limit=5)
    # Nearest the middle first, a row counting twice a seat; B3-B4 never: it would leave B2
    # alone beside the taken B1.
    assert [block.labels for block in blocks] == [
        ["B4", "B5"],
        ["B5", "B6"],
        ["A4", "A5"],
        ["B2", "B3"],
        ["C4", "C5"],
    ]
    assert blocks[0].guards == (("B3", "B2"), ("B6", "B7"))
    assert blocks[3].guards == (("B4", "B5"),)  # beside a taken seat: nothing to strand


@pytest.mark.django_db
def test_ranked_blocks_rank_by_nearness_to_a_point_when_given():
    plan = _plan("A  ssssssss\nB  ssssssss")
    blocks = ranked_blocks(plan=plan, taken=set(), count=2, limit=1, near=(0, 7))
    assert blocks[0].labels == ["A7", "A8"]


@pytest.mark.django_db
def test_a_block_stranding_a_seat_beside_a_taken_one_comes_only_alone():
    plan = _plan("A  sssss")
    # A3-A4 would leave A2 alone beside A1: never while another pair fits.
    assert [b.labels for b in ranked_blocks(plan=plan, taken={"A1"}, count=2, limit=5)] == [
        ["A2", "A3"],
        ["A4", "A5"],
    ]
    # Three seats between taken ones, two wanted: every pair strands one; the best, alone.
    assert len(ranked_blocks(plan=plan, taken={"A1", "A5"}, count=2, limit=5)) == 1
