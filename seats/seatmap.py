"""Compose a showtime's seat map from its layout (cached), booked seats and held seats."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from cinema.models import Auditorium, Seat, Showtime
from seats import holds


class SeatState(StrEnum):
    AVAILABLE = "available"
    HELD = "held"
    MINE = "mine"
    BOOKED = "booked"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class PlanSeat:
    id: int
    label: str
    row: str
    number: int
    x: int
    kind: str
    blocked: bool


@dataclass(frozen=True, slots=True)
class PlanRow:
    label: str
    cells: tuple[PlanSeat | None, ...]  # one per column; None is a gap or an aisle


@dataclass(frozen=True, slots=True)
class Plan:
    """The physical layout of an auditorium, independent of any showtime."""

    rows: tuple[PlanRow | None, ...]  # None is a cross aisle
    seats_by_id: dict[int, PlanSeat]
    seats_by_label: dict[str, PlanSeat]
    width: int


@dataclass(slots=True)
class SeatView:
    seat: PlanSeat
    state: SeatState

    @property
    def label(self) -> str:
        return self.seat.label


@dataclass(slots=True)
class SeatMap:
    rows: list[tuple[str, list[SeatView | None]] | None]
    counts: dict[SeatState, int] = field(default_factory=dict)
    mine: set[str] = field(default_factory=set)


_plans: dict[tuple[int, float], Plan] = {}


def get_plan(auditorium: Auditorium) -> Plan:
    """The auditorium's plan, built once per layout version and process."""
    key = (auditorium.pk, auditorium.updated_at.timestamp())
    plan = _plans.get(key)
    if plan is None:
        plan = _build_plan(auditorium)
        for stale in [k for k in _plans if k[0] == auditorium.pk]:
            del _plans[stale]
        _plans[key] = plan
    return plan


def _build_plan(auditorium: Auditorium) -> Plan:
    plan_seats: list[PlanSeat] = []
    by_y: dict[int, list[PlanSeat]] = {}
    values = Seat.objects.filter(auditorium=auditorium).values_list(
        "id", "label", "row", "number", "x", "y", "kind", "blocked"
    )
    for seat_id, label, row, number, x, y, kind, blocked in values:
        seat = PlanSeat(seat_id, label, row, number, x, kind, blocked)
        plan_seats.append(seat)
        by_y.setdefault(y, []).append(seat)
    width = max((seat.x for seat in plan_seats), default=-1) + 1
    height = max(by_y, default=-1) + 1
    rows: list[PlanRow | None] = []
    for y in range(height):
        row_seats = by_y.get(y)
        if not row_seats:
            rows.append(None)
            continue
        cells: list[PlanSeat | None] = [None] * width
        for seat in row_seats:
            cells[seat.x] = seat
        rows.append(PlanRow(label=row_seats[0].row, cells=tuple(cells)))
    return Plan(
        rows=tuple(rows),
        seats_by_id={seat.id: seat for seat in plan_seats},
        seats_by_label={seat.label: seat for seat in plan_seats},
        width=width,
    )


def seat_state(seat: PlanSeat, *, booked: set[str], held: set[str], mine: set[str]) -> SeatState:
    if seat.blocked:
        return SeatState.BLOCKED
    if seat.label in booked:
        return SeatState.BOOKED
    if seat.label in mine:
        return SeatState.MINE
    if seat.label in held:
        return SeatState.HELD
    return SeatState.AVAILABLE


def compose_seat_map(
    *, plan: Plan, booked: set[str], held: set[str] = frozenset(), mine: set[str] = frozenset()
) -> SeatMap:
    """Every seat of the plan with its state for one viewer; labels in `mine` are theirs."""
    counts = dict.fromkeys(SeatState, 0)
    rows: list[tuple[str, list[SeatView | None]] | None] = []
    for row in plan.rows:
        if row is None:
            rows.append(None)
            continue
        views: list[SeatView | None] = []
        for seat in row.cells:
            if seat is None:
                views.append(None)
                continue
            state = seat_state(seat, booked=booked, held=held, mine=mine)
            counts[state] += 1
            views.append(SeatView(seat, state))
        rows.append((row.label, views))
    return SeatMap(rows=rows, counts=counts, mine=set(mine) - booked)


class SaleSource(Protocol):
    """Who bought what, and which hold is whose: answered by the bookings app."""

    def booked_labels(self, *, showtime: Showtime, plan: Plan) -> set[str]: ...

    def hold_token(self, *, showtime: Showtime, user) -> str | None: ...


_source: SaleSource | None = None


def use_sale_source(source: SaleSource) -> None:
    """Called once at startup by the app that owns bookings (seats must not import it)."""
    global _source
    _source = source


def _live_states(
    *, showtime: Showtime, plan: Plan, labels: list[str], token: str | None
) -> tuple[set[str], set[str], set[str]]:
    """(booked, held, mine) for these seats right now: one query and one Redis round trip."""
    held = holds.held_labels(showtime_id=showtime.pk, labels=labels)
    mine = {label for label, holder in held.items() if token and holder == token}
    return _source.booked_labels(showtime=showtime, plan=plan), set(held), mine


def view_seat_map(*, showtime: Showtime, user=None) -> SeatMap:
    """The seat map of a showtime as this viewer sees it now: their own held seats are 'mine'."""
    plan = get_plan(showtime.auditorium)
    token = None
    if user is not None and user.is_authenticated:
        token = _source.hold_token(showtime=showtime, user=user)
    booked, held, mine = _live_states(
        showtime=showtime, plan=plan, labels=list(plan.seats_by_label), token=token
    )
    return compose_seat_map(plan=plan, booked=booked, held=held, mine=mine)


def seat_views(*, showtime: Showtime, labels: list[str], token: str = "") -> list[SeatView]:
    """The current state of just these seats; those held by `token` are 'mine'."""
    plan = get_plan(showtime.auditorium)
    booked, held, mine = _live_states(showtime=showtime, plan=plan, labels=labels, token=token)
    return [
        SeatView(seat, seat_state(seat, booked=booked, held=held, mine=mine))
        for seat in (plan.seats_by_label[label] for label in labels)
    ]
