"""Best available seats: n side by side, near the middle, never stranding a lone seat."""

from cinema.plans import Plan, PlanSeat

# A row counts this much more than a seat sideways: people move over before they move back.
ROW_WEIGHT = 2.0


def _segments(cells: tuple[PlanSeat | None, ...]) -> list[list[PlanSeat]]:
    """Runs of seats side by side, split by gaps and aisles."""
    segments: list[list[PlanSeat]] = [[]]
    for cell in cells:
        if cell is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append(cell)
    return [segment for segment in segments if segment]


def _free_runs(segment: list[PlanSeat], taken: set[str]) -> list[list[PlanSeat]]:
    runs: list[list[PlanSeat]] = [[]]
    for seat in segment:
        if seat.label in taken:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(seat)
    return [run for run in runs if run]


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
    middle_y = (min(rows.values()) + max(rows.values())) / 2 if rows else 0
    middle_x = (plan.width - 1) / 2

    def distance(seat: PlanSeat) -> float:
        return abs(rows[seat.row] - middle_y) * ROW_WEIGHT + abs(seat.x - middle_x)

    if count == 2:
        spaces = [seat for seat in spaces if seat.label in free_companions]
    if count not in (1, 2) or not spaces:
        return None
    space = min(spaces, key=lambda seat: (distance(seat), seat.label))
    return [space.label] if count == 1 else [space.label, sorted(free_companions[space.label])[0]]


def best_available(*, plan: Plan, taken: set[str], count: int) -> list[str] | None:
    """Labels of `count` adjacent standard seats in one row closest to the middle, or None.

    A choice that would leave exactly one empty seat between it and a taken seat, an aisle or a
    wall is used only when no other choice exists.
    """
    unavailable = set(taken) | {
        seat.label for seat in plan.seats_by_id.values() if seat.blocked or seat.kind != "standard"
    }
    rows = [(y, row) for y, row in enumerate(plan.rows) if row is not None]
    if not rows or count < 1:
        return None
    middle_y = (rows[0][0] + rows[-1][0]) / 2
    middle_x = (plan.width - 1) / 2
    best: tuple[tuple[bool, float, int], list[PlanSeat]] | None = None
    for y, row in rows:
        for segment in _segments(row.cells):
            for run in _free_runs(segment, unavailable):
                for start in range(len(run) - count + 1):
                    left, right = start, len(run) - start - count
                    strands = left == 1 or right == 1
                    block = run[start : start + count]
                    centre_x = (block[0].x + block[-1].x) / 2
                    distance = abs(y - middle_y) * ROW_WEIGHT + abs(centre_x - middle_x)
                    key = (strands, distance, y)
                    if best is None or key < best[0]:
                        best = (key, block)
    return None if best is None else [seat.label for seat in best[1]]
