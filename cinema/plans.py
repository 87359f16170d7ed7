"""A hall's plan: its seats as laid out (rows, gaps, aisles, kinds), independent of any showtime,
built from the Seat rows once per layout version and process."""

from dataclasses import dataclass

from cinema.models import Auditorium, Seat


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
    kinds: frozenset[str] = frozenset()  # the seat kinds (categories) this hall has


def row_segments(row: PlanRow) -> list[list[PlanSeat]]:
    """Runs of seats side by side in a row, split by gaps and aisles."""
    segments: list[list[PlanSeat]] = [[]]
    for cell in row.cells:
        if cell is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append(cell)
    return [segment for segment in segments if segment]


def free_runs(segment: list[PlanSeat], taken: set[str]) -> list[list[PlanSeat]]:
    """Runs of seats side by side in a segment that are not `taken`."""
    runs: list[list[PlanSeat]] = [[]]
    for seat in segment:
        if seat.label in taken:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(seat)
    return [run for run in runs if run]


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
        kinds=frozenset(seat.kind for seat in plan_seats if not seat.blocked),
    )
