"""Which companion seat goes with which wheelchair space, read from the layout."""

import pytest

from cinema.access import companions
from cinema.models import Auditorium
from cinema.plans import get_plan
from cinema.services import save_auditorium


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("C  ac|sxss|ca", {"C2": "C1", "C7": "C8"}),
        # Spaces on both sides: the one on the left.
        ("C  aca", {"C2": "C1"}),
        # One space, a companion on each side.
        ("C  cac", {"C1": "C2", "C3": "C2"}),
        # C2 is across a gap from C1; C6 has its space on the right.
        ("C  a.c|ac|sca", {"C4": "C3", "C6": "C7"}),
        # Across an aisle, or with a seat between: none.
        ("C  a|c", {}),
        ("C  asc", {}),
        # A blocked space has no companion.
        ("C  xc", {}),
    ],
)
def test_a_companion_seat_belongs_to_the_space_directly_beside_it(layout, expected):
    plan = get_plan(save_auditorium(auditorium=Auditorium(name="Access", layout=layout)))
    assert companions(plan) == expected
