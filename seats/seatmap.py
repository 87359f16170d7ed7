"""Compose a showtime's seat map from its hall's plan (cinema.plans), sold and held seats.

A map is composed once per showtime and seat-state version and served from process memory to
every request that read the same states (seats.holds, "Versions"), each viewer's own seats
marked on a copy: a rush's refusals each carry the map, most of them at a version already drawn.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
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
    plan: Plan | None = None
    # Each row's cells as seats.render draws them with no seat ticked, by row label: kept with
    # the map, so a map served to many requests draws each such row once.
    cells: dict[str, str] = field(default_factory=dict)

    def seen_by(self, mine: set[str]) -> "SeatMap":
        """This map as the holder of `mine` sees it (those of them held are theirs): itself when
        they hold none of its seats, else a copy sharing the rows they hold none in."""
        mine = {label for label in mine if self._state(label) == SeatState.HELD}
        if not mine:
            return self
        touched = {self.plan.seats_by_label[label].row for label in mine}
        rows = [
            (row[0], [_as_mine(view, mine) for view in row[1]])
            if row is not None and row[0] in touched
            else row
            for row in self.rows
        ]
        counts = dict(self.counts)
        counts[SeatState.HELD] -= len(mine)
        counts[SeatState.MINE] += len(mine)
        cells = dict(self.cells)  # one step: other requests may be adding rows to it
        for label in touched:
            cells.pop(label, None)
        return replace(self, rows=rows, counts=counts, mine=mine, cells=cells)

    def _state(self, label: str) -> SeatState | None:
        seat = self.plan.seats_by_label.get(label)
        if seat is None:
            return None
        for row in self.rows:
            if row is not None and row[0] == seat.row:
                return next(v.state for v in row[1] if v is not None and v.label == label)
        return None


def _as_mine(view: SeatView | None, mine: set[str]) -> SeatView | None:
    if view is None or view.label not in mine:
        return view
    return SeatView(view.seat, SeatState.MINE)


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
    return SeatMap(rows=rows, counts=counts, mine=set(mine) - booked, kinds=plan.kinds, plan=plan)


@dataclass(frozen=True, slots=True)
class SeatStates:
    """What a showtime's seats are right now, read once per request and passed on: the check,
    the page and the broadcast of one request all see the same states."""

    booked: set[str]  # sold: the tickets (bookings owns them)
    held: dict[str, str]  # label -> the token holding it (Redis)
    # `held` covers only these seats (a hold reads just its own); None: every seat.
    only: frozenset[str] | None = None
    # The seat-state version read before the seats (seats.holds, "Versions"): they show it or
    # something newer. None: read otherwise (the sold seats came from the caller).
    version: int | None = None

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
    read: it is the same one query, and a refusal's map needs them. Read here, they come after
    the holds and the version, so the states carry that version."""
    if only is not None:
        only = frozenset(label for label in only if label in plan.seats_by_label)
    labels = list(plan.seats_by_label if only is None else only)
    observed = holds.observe(showtime_id=showtime.pk, labels=labels, number=False)
    version = observed.version if booked is None else None
    if booked is None:
        # After the version: a sale commits before it is numbered.
        booked = seat_sales().booked_labels(showtime=showtime, plan=plan)
    return SeatStates(booked=booked, held=observed.held, only=only, version=version)


def _viewer_id(user) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def view_seat_map(*, showtime: Showtime, user=None, states: SeatStates | None = None) -> SeatMap:
    """The seat map of a showtime as this viewer sees it: their own held seats are 'mine'."""
    plan = get_plan(showtime.auditorium)
    if states is None:
        states = read_seat_states(showtime=showtime, plan=plan)
    elif states.only is not None:
        # Read for a hold, before it was tried: the map shows the seats after it, as the
        # version now says (the holds read then are not the map's).
        states = SeatStates(
            booked=states.booked,
            held={},
            only=frozenset(),
            version=holds.version(showtime_id=showtime.pk),
        )
    kept = kept_back(showtime=showtime, plan=plan)
    drawn = _drawn.get(showtime.pk)
    if drawn is None or not drawn.shows(states=states, plan=plan, kept=kept):
        drawn = _draw(showtime=showtime, plan=plan, states=states, kept=kept)
    return drawn.seat_map.seen_by(drawn.states.mine(_viewer_id(user)))


# A drawn map is served at most this long: a bound for changes that were never numbered.
DRAWN_MAX_AGE_SECONDS = 5.0
# Showtimes whose latest map each process keeps (a rush is one or a few).
DRAWN_SHOWTIMES = 64


@dataclass(frozen=True, slots=True)
class _Drawn:
    """A showtime's map with no seat 'mine', drawn from every seat's states read at a version."""

    states: SeatStates
    plan: Plan
    kept: frozenset[str]
    seat_map: SeatMap
    # When it stops being served (time.monotonic()): its age bound, or before the first of its
    # holds ends by itself, which no version tells until the sweeper has seen it.
    until: float

    def shows(self, *, states: SeatStates, plan: Plan, kept: set[str]) -> bool:
        """Whether these are the states drawn: the same version (no numbered change since),
        the same sold seats, the same holds where the request read them, the same hall and
        seats kept back, and none of the holds drawn due to have ended."""
        if states.version is None or states.version != self.states.version:
            return False
        if states.only is None:
            same_holds = states.held == self.states.held
        else:
            same_holds = all(
                self.states.held.get(label) == states.held.get(label) for label in states.only
            )
        return (
            same_holds
            and time.monotonic() < self.until
            and plan is self.plan
            and states.booked == self.states.booked
            and self.kept == kept
        )


class _DrawnMaps:
    def __init__(self, size: int):
        self.size = size
        self.maps: OrderedDict[int, _Drawn] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, showtime_id: int) -> _Drawn | None:
        return self.maps.get(showtime_id)

    def put(self, showtime_id: int, drawn: _Drawn) -> None:
        with self.lock:
            self.maps[showtime_id] = drawn
            self.maps.move_to_end(showtime_id)
            while len(self.maps) > self.size:
                self.maps.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.maps.clear()


_drawn = _DrawnMaps(DRAWN_SHOWTIMES)


def _draw(*, showtime: Showtime, plan: Plan, states: SeatStates, kept: set[str]) -> _Drawn:
    """Every seat's states (the rest of the holds read now, after the version, when the request
    read only some) composed with no seat 'mine'; kept for the next requests when numbered."""
    if states.only is not None:
        held = holds.held_labels(showtime_id=showtime.pk, labels=list(plan.seats_by_label))
        states = SeatStates(booked=states.booked, held=held, version=states.version)
    seat_map = compose_seat_map(plan=plan, booked=states.booked, held=set(states.held), kept=kept)
    now = time.monotonic()
    until = now + DRAWN_MAX_AGE_SECONDS
    if states.held and states.version is not None:
        ends = holds.hold_ends_ms(showtime_id=showtime.pk, labels=list(states.held))
        # Epoch ms to the monotonic clock, with a margin for clocks read a little apart.
        until = min(until, now + (ends - time.time() * 1000 - 50) / 1000)
    drawn = _Drawn(states=states, plan=plan, kept=frozenset(kept), seat_map=seat_map, until=until)
    if states.version is not None:
        _drawn.put(showtime.pk, drawn)
    return drawn
