"""The seat map's live feed: each change of seats, numbered, told once to everyone watching.

A change is told as data: the seats it touched, each with its state and, when held, whose hold it
is, at the seat-state version the reading was taken at (seats.holds, "Versions"). `tell` numbers
the reading before it reads, so a message is at least as new as its version: of all the
messages about a seat, whoever sent them and in whatever order they arrive, the one with the
highest version shows its latest state. Viewers apply a seat's message only when it is newer
than what they show. Each transport renders the data for its viewer, a held seat being "mine"
to its holder: HTML fragments carrying `data-v` for the page here, JSON for the API (the
WebSocket's `?format=json` and the API's event stream), each seat of a full map as the API's seat
map shows it, so an API client reads one format whichever way it asked.

`read_map` is the whole showtime as the same data: the full map sent on connect, and the truth
every open socket is checked against (seats.consumers).

`tell` has one caller, the module that owns seat changes (bookings.services.seat_changes): it
decides when a change is told, after its commit and before its events.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.template.loader import render_to_string

from cinema.access import kept_back
from cinema.models import Showtime
from cinema.plans import Plan, get_plan
from infra.websockets import send_to_group
from seats import holds
from seats.render import seat_html
from seats.seatmap import SeatState, SeatView, compose_seat_map, seat_sales

log = logging.getLogger(__name__)

# A seat as told: its label, state (available, held, booked, blocked, kept) and whose hold it is.
Seat = tuple[str, str, int | None]


@dataclass(frozen=True, slots=True)
class Reading:
    """Seats as read at `version`: every seat of the hall (`read_map`) or those of a change."""

    version: int
    seats: tuple[Seat, ...]


def group_name(showtime_id: int) -> str:
    return f"showtime.{showtime_id}"


def tell(*, showtime: Showtime, labels: Iterable[str], booked: set[str] | None = None) -> None:
    """Number a reading of `labels` and send it once to every viewer of the showtime.

    `booked` is the sold seats among `labels` when the caller knows them for certain (else one
    query reads them, after the numbering). A failure here is logged, never raised: the change
    itself has happened, and every open socket is checked against the truth (seats.consumers).
    """
    labels = sorted(set(labels))
    if not labels:
        return
    try:
        send_to_group(
            group_name(showtime.pk),
            message(read_change(showtime=showtime, labels=labels, booked=booked)),
        )
    except Exception:
        log.exception("could not tell seats %s of showtime %s", labels, showtime.pk)


def message(reading: Reading) -> dict:
    """The channel layer's message for a reading (plain data: it crosses processes)."""
    return {"type": "seats.update", "version": reading.version, "seats": list(reading.seats)}


def read_change(
    *, showtime: Showtime, labels: list[str], booked: set[str] | None = None
) -> Reading:
    """A numbered reading of the changed seats `labels`: what `tell` sends."""
    return _read(showtime=showtime, labels=labels, booked=booked, number=True)


def read_map(*, showtime: Showtime) -> Reading:
    """Every seat of the showtime and the version they were read at (not a new one)."""
    plan = get_plan(showtime.auditorium)
    return _read(showtime=showtime, labels=list(plan.seats_by_label), booked=None, number=False)


def _read(*, showtime: Showtime, labels: list[str], booked: set[str] | None, number: bool):
    plan = get_plan(showtime.auditorium)
    observed = holds.observe(showtime_id=showtime.pk, labels=labels, number=number)
    # The sold seats are read after the version: a sale commits before it is numbered.
    if booked is None:
        booked = seat_sales().booked_labels(showtime=showtime, plan=plan)
    kept = kept_back(showtime=showtime, plan=plan)
    return Reading(
        observed.version,
        tuple(_seat(plan, label, booked, observed.held, kept) for label in labels),
    )


def _seat(plan: Plan, label: str, booked: set[str], held: dict[str, str], kept: set[str]) -> Seat:
    if plan.seats_by_label[label].blocked:
        return (label, SeatState.BLOCKED.value, None)
    if label in booked:
        return (label, SeatState.BOOKED.value, None)
    if label in held:
        return (label, SeatState.HELD.value, holds.owner_of(held[label]))
    if label in kept:
        return (label, SeatState.KEPT.value, None)
    return (label, SeatState.AVAILABLE.value, None)


def look(state: str, holder: int | None, viewer_id: int | None) -> SeatState:
    """How a seat looks to one viewer: their own held seats are 'mine'."""
    if state == SeatState.HELD and holder is not None and holder == viewer_id:
        return SeatState.MINE
    return SeatState(state)


# The HTML transport.


def fragment_html(*, plan: Plan, version: int, looks: Iterable[tuple[str, str]]) -> str:
    """Seats as one message of out-of-band swaps, each carrying the version it shows."""
    stamp = f' hx-swap-oob="true" data-v="{version}"'
    return "".join(
        seat_html(SeatView(plan.seats_by_label[label], SeatState(state)), oob=True).replace(
            ' hx-swap-oob="true"', stamp, 1
        )
        for label, state in looks
    )


def full_map_html(*, plan: Plan, reading: Reading, viewer_id: int | None) -> str:
    """Every seat as this viewer sees it, replacing the whole map, with the reading's version."""
    booked, held, mine, kept = set(), set(), set(), set()
    for label, state, holder in reading.seats:
        if state == SeatState.BOOKED:
            booked.add(label)
        elif state == SeatState.KEPT:
            kept.add(label)
        elif state == SeatState.HELD:
            (mine if look(state, holder, viewer_id) == SeatState.MINE else held).add(label)
    return render_to_string(
        "seats/_seat_rows.html",
        {
            "seat_map": compose_seat_map(
                plan=plan, booked=booked, held=held | mine, mine=mine, kept=kept
            ),
            "oob": True,
            "seat_version": reading.version,
        },
    )


# The JSON transport.


def seats_data(*, plan: Plan, reading: Reading, viewer_id: int | None) -> list[dict]:
    """Every seat of a full reading as the API's seat map has a seat (label, row, number, kind)
    with its state as this viewer sees it."""
    seats = []
    for label, state, holder in reading.seats:
        seat = plan.seats_by_label[label]
        seats.append(
            {
                "label": label,
                "row": seat.row,
                "number": seat.number,
                "kind": seat.kind,
                "state": look(state, holder, viewer_id).value,
            }
        )
    return seats


def map_json(*, showtime_id: int, plan: Plan, reading: Reading, viewer_id: int | None) -> str:
    """Every seat as this viewer sees it, as one message, with the reading's version."""
    seats = seats_data(plan=plan, reading=reading, viewer_id=viewer_id)
    return _json(
        {"type": "map", "showtime": showtime_id, "version": reading.version, "seats": seats}
    )


def change_json(*, version: int, looks: Iterable[tuple[str, str]]) -> str:
    """Seats as one message, each with the state it shows, at the version they were read at."""
    seats = [{"label": label, "state": state} for label, state in looks]
    return _json({"type": "seats", "version": version, "seats": seats})


def _json(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))
