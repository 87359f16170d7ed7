"""A map is drawn once per showtime and seat-state version and served to every request that read
the same states: it must show each viewer their own seats, and never show a change as not made,
numbered or not."""

import time

import pytest

from cinema.plans import get_plan
from seats import holds
from seats.seatmap import SeatState, read_seat_states, view_seat_map

pytestmark = pytest.mark.django_db


def _state(seat_map, label: str) -> SeatState:
    views = (view for row in filter(None, seat_map.rows) for view in row[1] if view is not None)
    return next(view.state for view in views if view.label == label)


def _row(seat_map, label: str):
    return next(row for row in seat_map.rows if row and row[0] == label)


def _hold(showtime, user, labels, *, ttl_seconds=60):
    token = holds.new_token(user.pk)
    assert holds.hold(
        showtime_id=showtime.pk, labels=labels, token=token, ttl_seconds=ttl_seconds
    ).ok


def test_one_drawing_serves_every_viewer_with_their_own_seats_marked(showtime, user, bob):
    _hold(showtime, user, ["A3"])
    seen_by_bob = view_seat_map(showtime=showtime, user=bob)
    seen_by_ann = view_seat_map(showtime=showtime, user=user)
    seen_by_nobody = view_seat_map(showtime=showtime)

    assert seen_by_nobody is seen_by_bob  # the drawing itself: nobody's seats in it
    assert _state(seen_by_bob, "A3") is SeatState.HELD
    assert _state(seen_by_ann, "A3") is SeatState.MINE and seen_by_ann.mine == {"A3"}
    assert seen_by_ann.counts[SeatState.MINE] == 1 and seen_by_ann.counts[SeatState.HELD] == 0
    assert seen_by_bob.counts[SeatState.HELD] == 1 and seen_by_bob.mine == set()
    # Ann's copy shares the drawn rows she holds nothing in, not the one she does.
    assert _row(seen_by_ann, "A") is not _row(seen_by_bob, "A")
    assert _row(seen_by_ann, "B") is _row(seen_by_bob, "B")


def test_a_numbered_change_is_drawn_anew(showtime, user, bob):
    before = view_seat_map(showtime=showtime, user=bob)
    _hold(showtime, user, ["B2"])
    after = view_seat_map(showtime=showtime, user=bob)
    assert _state(before, "B2") is SeatState.AVAILABLE
    assert _state(after, "B2") is SeatState.HELD


def test_a_hold_that_ends_by_itself_is_not_served_as_held(showtime, user, bob):
    """A hold's key expires with no version until the sweeper sees it: a drawing showing it
    held is not served past its end."""
    _hold(showtime, user, ["A5"], ttl_seconds=1)
    assert _state(view_seat_map(showtime=showtime, user=bob), "A5") is SeatState.HELD
    time.sleep(1.1)
    assert holds.expired(showtime_id=showtime.pk) == ["A5"]  # not swept: no new version
    assert _state(view_seat_map(showtime=showtime, user=bob), "A5") is SeatState.AVAILABLE


def test_a_refusal_draws_the_holds_after_its_attempt(showtime, user, bob):
    """A hold reads the holds beside its seats before it tries; its refusal's map shows the
    seats as they are after the attempt, though drawn at the version read before it."""
    plan = get_plan(showtime.auditorium)
    read_first = read_seat_states(showtime=showtime, plan=plan, only=["A4"])
    assert view_seat_map(showtime=showtime, user=bob, states=read_first) is not None
    _hold(showtime, user, ["A4"])  # wins the race between bob's reading and his hold
    refused = view_seat_map(showtime=showtime, user=bob, states=read_first)
    assert _state(refused, "A4") is SeatState.HELD


def test_holds_the_request_read_otherwise_are_drawn_anew(showtime, user, bob):
    """A request that read every seat is served a drawing only if it read the same holds."""
    plan = get_plan(showtime.auditorium)
    view_seat_map(showtime=showtime, user=bob)
    # A hold written behind the scripts' back (no version) is still what this request read.
    holds.get_redis().set(holds.seat_key(showtime.pk, "B5"), holds.new_token(user.pk), ex=60)
    states = read_seat_states(showtime=showtime, plan=plan)
    assert _state(view_seat_map(showtime=showtime, user=bob, states=states), "B5") is SeatState.HELD
