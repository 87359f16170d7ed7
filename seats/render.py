"""Seat markup: the one seat partial, rendered once per distinct seat look and then reused.

A seat's HTML depends only on the seat, its state and three flags, while a 500-seat map would
otherwise run the template 500 times per page and per WebSocket connect.
"""

from functools import lru_cache

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from cinema.plans import PlanSeat
from seats.seatmap import SeatMap, SeatState, SeatView

SEAT_TEMPLATE = "seats/_seat.html"
LIST_ITEM_TEMPLATE = "seats/_seat_list_item.html"
KIND_NAMES = {
    "standard": "standard seat",
    "premium": "premium seat",
    "vip": "VIP recliner",
    "accessible": "wheelchair space",
    "companion": "companion seat",
}
# The words the legend uses, so what is heard matches what is seen.
STATE_NAMES = {
    SeatState.AVAILABLE: "available",
    SeatState.MINE: "held for you",
    SeatState.HELD: "being booked",
    SeatState.BOOKED: "sold",
    SeatState.BLOCKED: "not for sale",
    SeatState.KEPT: "kept for wheelchair users",
}
# An empty column of a row (a gap or an aisle).
GAP = mark_safe('<span class="cell" aria-hidden="true"></span>')


def seat_html(
    view: SeatView, *, oob: bool = False, selected: bool = False, conflict: bool = False
) -> SafeString:
    return _render(view.seat, view.state, oob, selected, conflict)


def seat_name(view: SeatView) -> str:
    """What a screen reader says for a seat: label, kind, state ("F12, wheelchair space, sold")."""
    kind = KIND_NAMES.get(view.seat.kind, view.seat.kind)
    return f"{view.seat.label}, {kind}, {STATE_NAMES[view.state]}"


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


def map_row_html(seat_map: SeatMap, row, *, selected=(), conflicts=()) -> SafeString:
    """`row_html` of one row (label, seats) of `seat_map`; a row with no seat marked is kept on
    the map, so a map served to many requests (seats.seatmap) draws it once."""
    label, views = row
    marked = {*selected, *conflicts}
    seats = seat_map.plan.seats_by_label if seat_map.plan else {}
    if any(seats[name].row == label for name in marked if name in seats) or not seats:
        return row_html(views, selected=selected, conflicts=conflicts)
    cells = seat_map.cells.get(label)
    if cells is None:
        cells = seat_map.cells[label] = row_html(views)
    return cells


def list_row_html(views, *, selected=()) -> SafeString:
    """The seats of one row for the list mode: a checkbox per seat that can be chosen now."""
    return mark_safe(  # noqa: S308 (joined from escaped template output)
        "".join(
            _render_list_item(view.seat, view.state, view.label in selected)
            for view in views
            if view is not None and view.state != SeatState.BLOCKED
        )
    )


@lru_cache(maxsize=50_000)
def _render_list_item(seat: PlanSeat, state: SeatState, selected: bool):
    context = {"view": SeatView(seat, state), "selected": selected}
    return mark_safe(get_template(LIST_ITEM_TEMPLATE).render(context))  # noqa: S308 (autoescaped)


@lru_cache(maxsize=50_000)
def _render(seat: PlanSeat, state: SeatState, oob: bool, selected: bool, conflict: bool):
    context = {
        "view": SeatView(seat, state),
        "oob": oob,
        "selected": selected,
        "conflict": conflict,
    }
    return mark_safe(get_template(SEAT_TEMPLATE).render(context))  # noqa: S308 (autoescaped)
