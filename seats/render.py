"""Seat markup: the one seat partial, rendered once per distinct seat look and then reused.

A seat's HTML depends only on the seat, its state and three flags, while a 500-seat map would
otherwise run the template 500 times per page and per WebSocket connect.
"""

from functools import lru_cache

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from seats.seatmap import PlanSeat, SeatState, SeatView

SEAT_TEMPLATE = "seats/_seat.html"
# An empty column of a row (a gap or an aisle).
GAP = mark_safe('<span class="cell" aria-hidden="true"></span>')


def seat_html(
    view: SeatView, *, oob: bool = False, selected: bool = False, conflict: bool = False
) -> SafeString:
    return _render(view.seat, view.state, oob, selected, conflict)


def row_html(views, *, selected=(), conflicts=()) -> SafeString:
    """Every cell of one row: its seats as the partial renders them, and its gaps."""
    return mark_safe(  # noqa: S308 (joined from escaped template output and a constant)
        "".join(
            GAP
            if view is None
            else seat_html(view, selected=view.label in selected, conflict=view.label in conflicts)
            for view in views
        )
    )


@lru_cache(maxsize=50_000)
def _render(seat: PlanSeat, state: SeatState, oob: bool, selected: bool, conflict: bool):
    context = {
        "view": SeatView(seat, state),
        "oob": oob,
        "selected": selected,
        "conflict": conflict,
    }
    return mark_safe(get_template(SEAT_TEMPLATE).render(context))  # noqa: S308 (autoescaped)
