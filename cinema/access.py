"""Wheelchair spaces kept back: which seats a showtime keeps for wheelchair users, until when,
and which companion seat goes with which space.

The pairing rule, read from the layout: a companion seat (`c`) belongs to the wheelchair space
(`a`) directly beside it in the same row, with no gap or aisle between them; when spaces stand
on both sides, to the one on its left. A companion seat with no space beside it belongs to none
(and is kept back all the same: the layout marks it for someone who comes with a wheelchair
user). A space may have no companion, or one on each side.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from cinema.models import Showtime
from cinema.plans import Plan

SPACE = "accessible"
COMPANION = "companion"


def companions(plan: Plan) -> dict[str, str]:
    """Each companion seat's label -> the label of the space it belongs to."""
    pairs: dict[str, str] = {}
    for row in plan.rows:
        if row is None:
            continue
        cells = row.cells
        for x, seat in enumerate(cells):
            if seat is None or seat.kind != COMPANION or seat.blocked:
                continue
            beside = [cells[i] for i in (x - 1, x + 1) if 0 <= i < len(cells)]
            space = next(
                (cell for cell in beside if cell and cell.kind == SPACE and not cell.blocked),
                None,
            )
            if space is not None:
                pairs[seat.label] = space.label
    return pairs


def wheelchair_seats(plan: Plan) -> set[str]:
    """Every space and companion seat of the hall that is for sale."""
    return {
        seat.label
        for seat in plan.seats_by_label.values()
        if seat.kind in (SPACE, COMPANION) and not seat.blocked
    }


def release_time(showtime: Showtime) -> datetime:
    """When the showtime's spaces and companion seats go on general sale: its own time, or
    WHEELCHAIR_RELEASE_HOURS before it starts."""
    if showtime.wheelchair_release_at is not None:
        return showtime.wheelchair_release_at
    return showtime.starts_at - timedelta(hours=settings.WHEELCHAIR_RELEASE_HOURS)


def kept_back(*, showtime: Showtime, plan: Plan, now: datetime | None = None) -> set[str]:
    """The seats kept for wheelchair users right now (none once the release time has come)."""
    if (now or timezone.now()) >= release_time(showtime):
        return set()
    return wheelchair_seats(plan)
