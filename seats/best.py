"""Best available seats: n side by side, near the middle, never stranding a lone seat."""

from cinema.plans import Plan, PlanSeat, free_runs, row_segments

# A row counts this much more than a seat sideways: people move over before they move back.
ROW_WEIGHT = 2.0

# Wheelchair spaces and their companion seats are for the buyers who need them: best available
# never hands them to anyone else (best_wheelchair_place finds them for those who say so).
NEVER_OFFERED = frozenset({"accessible", "companion"})


def _middle(plan: Plan) -> tuple[float, float]:
    """The hall's middle as (row index, x): what "best" is nearest to."""
    ys = [y for y, row in enumerate(plan.rows) if row is not None]
    return ((ys[0] + ys[-1]) / 2 if ys else 0.0), (plan.width - 1) / 2


def best_wheelchair_place(
    *, plan: Plan, taken: set[str], companions: dict[str, str], count: int
) -> list[str] | None:
    """A free wheelchair space nearest the middle (count 1), or one with a free companion seat
    of its own beside it (count 2, the space first); None if there is none."""
    spaces = [
        seat
        for seat in plan.seats_by_label.values()
        if seat.kind == "accessible" and not seat.blocked and seat.label not in taken
    ]
    free_companions: dict[str, list[str]] = {}
    for companion, space in companions.items():
        if companion not in taken:
            free_companions.setdefault(space, []).append(companion)
    rows = {row.label: y for y, row in enumerate(plan.rows) if row is not None}
    middle_y, middle_x = _middle(plan)

    def distance(seat: PlanSeat) -> float:
        return abs(rows[seat.row] - middle_y) * ROW_WEIGHT + abs(seat.x - middle_x)

    if count == 2:
        spaces = [seat for seat in spaces if seat.label in free_companions]
    if count not in (1, 2) or not spaces:
        return None
    space = min(spaces, key=lambda seat: (distance(seat), seat.label))
    return [space.label] if count == 1 else [space.label, sorted(free_companions[space.label])[0]]


def best_available(
    *, plan: Plan, taken: set[str], count: int, kind: str = "standard"
) -> list[str] | None:
    """Labels of `count` adjacent seats of `kind` in one row closest to the middle, or None.

    A choice that would leave exactly one empty seat between it and a taken seat (which the hold
    rules refuse while another block avoids it) is used only when no other choice exists; then
    one leaving it by an aisle, a wall or a seat of another kind.
    """
    if kind in NEVER_OFFERED:
        return None
    blocked = {seat.label for seat in plan.seats_by_id.values() if seat.blocked}
    gone = set(taken) | blocked
    rows = [(y, row) for y, row in enumerate(plan.rows) if row is not None]
    if not rows or count < 1:
        return None
    middle_y, middle_x = _middle(plan)
    best: tuple[tuple[bool, bool, float, int], list] | None = None
    for y, row in rows:
        for segment in row_segments(row):
            labels = [seat.label for seat in segment]
            for run in free_runs(segment, gone):
                first = labels.index(run[0].label)
                taken_left = first > 0
                taken_right = first + len(run) < len(segment)
                for same_kind in free_runs(run, {s.label for s in run if s.kind != kind}):
                    at = labels.index(same_kind[0].label) - first
                    for start in range(at, at + len(same_kind) - count + 1):
                        left, right = start, len(run) - start - count
                        strands_taken = (left == 1 and taken_left) or (right == 1 and taken_right)
                        strands = start - at == 1 or at + len(same_kind) - start - count == 1
                        block = run[start : start + count]
                        centre_x = (block[0].x + block[-1].x) / 2
                        distance = abs(y - middle_y) * ROW_WEIGHT + abs(centre_x - middle_x)
                        key = (strands_taken, strands, distance, y)
                        if best is None or key < best[0]:
                            best = (key, block)
    return None if best is None else [seat.label for seat in best[1]]
