"""Best available seats: n side by side, near the middle, never stranding a lone seat."""

import heapq

from cinema.plans import Plan, PlanSeat, free_runs, row_segments
from seats.holds import Block

# A row counts this much more than a seat sideways: people move over before they move back.
ROW_WEIGHT = 2.0

# Wheelchair spaces and their companion seats are for the buyers who need them: best available
# never hands them to anyone else (wheelchair_places finds them for those who say so).
NEVER_OFFERED = frozenset({"accessible", "companion"})


def _middle(plan: Plan) -> tuple[float, float]:
    """The hall's middle as (row index, x): what "best" is nearest to."""
    ys = [y for y, row in enumerate(plan.rows) if row is not None]
    return ((ys[0] + ys[-1]) / 2 if ys else 0.0), (plan.width - 1) / 2


def wheelchair_places(
    *, plan: Plan, taken: set[str], companions: dict[str, str], count: int, limit: int
) -> list[Block]:
    """Up to `limit` free wheelchair spaces (count 1), or spaces each with a free companion seat
    of its own (count 2, the space first), nearest the middle first."""
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
    if count not in (1, 2):
        return []
    nearest = heapq.nsmallest(limit, spaces, key=lambda seat: (distance(seat), seat.label))
    return [
        Block([space.label] if count == 1 else [space.label, min(free_companions[space.label])])
        for space in nearest
    ]


def ranked_blocks(
    *,
    plan: Plan,
    taken: set[str],
    count: int,
    kind: str = "standard",
    limit: int,
    near: tuple[float, float] | None = None,
) -> list[Block]:
    """Up to `limit` blocks of `count` adjacent seats of `kind` in one row, best first: nearest
    `near` (row index, x; default the middle), those leaving a seat alone by an aisle, a wall or
    another kind after the others. A block leaving one alone beside a taken seat (which the hold
    rules refuse while another block avoids it) comes only when nothing else fits, and alone.
    Each block guards against stranding a seat beside it that is free now and might not be
    when it is held."""
    if kind in NEVER_OFFERED or count < 1:
        return []
    blocked = {seat.label for seat in plan.seats_by_id.values() if seat.blocked}
    gone = set(taken) | blocked
    rows = [(y, row) for y, row in enumerate(plan.rows) if row is not None]
    if not rows:
        return []
    middle_y, middle_x = near or _middle(plan)
    # (key, the segment's labels, where the block starts in it): blocks are made of the winners.
    ranked: list[tuple[tuple[bool, bool, float, int, int], list[str], int]] = []
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
                        centre_x = (run[start].x + run[start + count - 1].x) / 2
                        distance = abs(y - middle_y) * ROW_WEIGHT + abs(centre_x - middle_x)
                        key = (strands_taken, strands, distance, y, len(ranked))
                        ranked.append((key, labels, first + start))
    best = heapq.nsmallest(limit, ranked, key=lambda entry: entry[0])
    if best and best[0][0][0]:
        best = best[:1]
    elif best:
        best = [entry for entry in best if not entry[0][0]]
    return [
        Block(labels[start : start + count], _guards(labels, start, count, gone))
        for _, labels, start in best
    ]


def _guards(
    labels: list[str], start: int, count: int, gone: set[str]
) -> tuple[tuple[str, str], ...]:
    """(lone, beyond) on each side of the block at `start` of a segment's `labels`, where both
    are free now: taking `beyond` meanwhile would leave `lone` alone beside the block."""
    pairs = ((start - 1, start - 2), (start + count, start + count + 1))
    return tuple(
        (labels[lone], labels[beyond])
        for lone, beyond in pairs
        if 0 <= beyond < len(labels)
        and 0 <= lone < len(labels)
        and labels[lone] not in gone
        and labels[beyond] not in gone
    )
