"""Compose a showtime's seat map from its hall's plan (cinema.plans), sold and held seats."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from cinema.access import kept_back
from cinema.models import Showtime
from cinema.plans import Plan, PlanSeat, get_plan
from seats import holds


class SeatState(StrEnum):
    AVAILABLE = "available"
    HELD = "held"
    MINE = "mine"
    BOOKED = "booked"
    BLOCKED = "blocked"
    # Free, but kept for wheelchair users until the showtime's release time (cinema.access).
    KEPT = "kept"


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
    kinds: frozenset[str] = frozenset()  # the hall's seat kinds, for the legend


def seat_state(
    seat: PlanSeat,
    *,
    booked: set[str],
    held: set[str],
    mine: set[str],
    kept: set[str] = frozenset(),
) -> SeatState:
    if seat.blocked:
        return SeatState.BLOCKED
    if seat.label in booked:
        return SeatState.BOOKED
    if seat.label in mine:
        return SeatState.MINE
    if seat.label in held:
        return SeatState.HELD
    if seat.label in kept:
        return SeatState.KEPT
    return SeatState.AVAILABLE


def compose_seat_map(
    *,
    plan: Plan,
    booked: set[str],
    held: set[str] = frozenset(),
    mine: set[str] = frozenset(),
    kept: set[str] = frozenset(),
) -> SeatMap:
    """Every seat of the plan with its state for one viewer; labels in `mine` are theirs, free
    ones in `kept` are kept for wheelchair users."""
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
            state = seat_state(seat, booked=booked, held=held, mine=mine, kept=kept)
            counts[state] += 1
            views.append(SeatView(seat, state))
        rows.append((row.label, views))
    return SeatMap(rows=rows, counts=counts, mine=set(mine) - booked, kinds=plan.kinds)


@dataclass(frozen=True, slots=True)
class SeatStates:
    """What a showtime's seats are right now, read once per request and passed on: the check,
    the page and the broadcast of one request all see the same states."""

    booked: set[str]  # sold: the tickets (bookings owns them)
    held: dict[str, str]  # label -> the token holding it (Redis)
    # `held` covers only these seats (a hold reads just its own); None: every seat.
    only: frozenset[str] | None = None

    def covers(self, labels: Iterable[str]) -> bool:
        """Whether these seats' holds were read."""
        return self.only is None or self.only.issuperset(labels)

    def mine(self, viewer_id: int | None) -> set[str]:
        """The seats the viewer holds: their tokens carry their tag (`holds.owner_tag`)."""
        if viewer_id is None:
            return set()
        tag = holds.owner_tag(viewer_id)
        return {label for label, token in self.held.items() if token.startswith(tag)}


class SeatSales(Protocol):
    """Who bought what: the one thing the seat map needs from the app that sells tickets.

    This is where `bookings.Ticket` meets the seat map: settings.SEAT_SALES names the class
    (`bookings.selectors.BookingSales`), as PAYMENT_GATEWAY names the gateway, so seats never
    imports bookings. Callers that have already read the sold seats pass them in instead.
    """

    def booked_labels(self, *, showtime: Showtime, plan: Plan) -> set[str]: ...


@cache
def _sales(path: str) -> SeatSales:
    return import_string(path)()


def seat_sales() -> SeatSales:
    return _sales(settings.SEAT_SALES)


def read_seat_states(
    *,
    showtime: Showtime,
    plan: Plan,
    booked: set[str] | None = None,
    only: Iterable[str] | None = None,
) -> SeatStates:
    """The showtime's seat states now: the sold seats (one query, unless `booked` is given) and
    the held ones (one Redis round trip), of every seat or `only` of those (a hold checks just
    its own; a map drawn from such states reads the rest then). The sold seats are always all
    read: it is the same one query, and a refusal's map needs them."""
    if booked is None:
        booked = seat_sales().booked_labels(showtime=showtime, plan=plan)
    if only is not None:
        only = frozenset(label for label in only if label in plan.seats_by_label)
    labels = list(plan.seats_by_label if only is None else only)
    held = holds.held_labels(showtime_id=showtime.pk, labels=labels)
    return SeatStates(booked=booked, held=held, only=only)


def _viewer_id(user) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def view_seat_map(*, showtime: Showtime, user=None, states: SeatStates | None = None) -> SeatMap:
    """The seat map of a showtime as this viewer sees it: their own held seats are 'mine'."""
    plan = get_plan(showtime.auditorium)
    if states is None or states.only is not None:
        states = read_seat_states(showtime=showtime, plan=plan, booked=states and states.booked)
    return compose_seat_map(
        plan=plan,
        booked=states.booked,
        held=set(states.held),
        mine=states.mine(_viewer_id(user)),
        kept=kept_back(showtime=showtime, plan=plan),
    )
