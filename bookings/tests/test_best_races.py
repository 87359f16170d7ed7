"""Best available in a race: choosing among the ranked blocks and holding are one step, so a
buyer whose best block was taken a moment ago gets the next one, not a refusal, while any
block is left."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from bookings.errors import SeatsUnavailable
from bookings.models import Booking
from bookings.services import holding
from bookings.services.rules import check_no_lone_seat
from cinema.models import Auditorium
from cinema.plans import get_plan
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import verified_user
from seats import holds
from seats.best import ranked_blocks
from seats.seatmap import read_seat_states
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _hall(movie, rows: int, seats: int):
    layout = "\n".join(f"{chr(65 + row)}  {'s' * seats}" for row in range(rows))
    return schedule_showtime(
        movie=movie,
        auditorium=save_auditorium(
            auditorium=Auditorium(name=f"Hall {rows}x{seats}", layout=layout)
        ),
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )


def _states(showtime):
    return read_seat_states(showtime=showtime, plan=get_plan(showtime.auditorium))


def _take(showtime, labels, holder="racer"):
    assert holds.hold(showtime_id=showtime.pk, labels=labels, token=holder, ttl_seconds=60).ok


def test_a_block_taken_since_the_seats_were_read_gives_the_next_best(movie, user):
    showtime = _hall(movie, 3, 10)
    seen = _states(showtime)
    first = services.suggest_best_seats(showtime=showtime, count=2, states=seen)
    _take(showtime, first.labels)

    booking = services.hold_seats(user=user, showtime=showtime, best=2, states=seen)

    # The next block of the ranking that the racer's seats leave free.
    assert booking.seat_labels == next(
        block.labels for block in first.blocks if not set(block.labels) & set(first.labels)
    )
    assert booking.amount == Decimal("20.00")
    assert [line["seat"] for line in booking.lines] == booking.seat_labels


def test_every_ranked_block_taken_since_ranks_again_once(movie, user, monkeypatch):
    monkeypatch.setattr(holds, "MAX_BLOCKS", 2)
    showtime = _hall(movie, 3, 10)
    seen = _states(showtime)
    ranked = services.suggest_best_seats(showtime=showtime, count=2, states=seen).blocks
    assert len(ranked) == 2
    taken = {label for block in ranked for label in block.labels}
    _take(showtime, sorted(taken))

    booking = services.hold_seats(user=user, showtime=showtime, best=2, states=seen)

    assert len(booking.seat_labels) == 2 and not set(booking.seat_labels) & taken


def test_a_sold_out_showtime_is_a_clear_refusal(movie, user):
    showtime = _hall(movie, 1, 4)
    _take(showtime, ["A1", "A2", "A3", "A4"])

    with pytest.raises(SeatsUnavailable, match="Sold out"):
        services.hold_seats(user=user, showtime=showtime, best=2)
    assert not Booking.objects.exists()


def test_a_block_that_would_now_strand_a_seat_is_passed_over(movie, user):
    showtime = _hall(movie, 1, 8)
    seen = _states(showtime)
    ranked = services.suggest_best_seats(showtime=showtime, count=2, states=seen).blocks
    assert ranked[0].labels == ["A4", "A5"]
    _take(showtime, ["A2"])  # A4-A5 would now leave A3 alone

    booking = services.hold_seats(user=user, showtime=showtime, best=2, states=seen)

    assert booking.seat_labels != ["A4", "A5"]
    # What was held leaves no seat alone beside the racer's (the rule would refuse it).
    plan = get_plan(showtime.auditorium)
    check_no_lone_seat(plan=plan, labels=booking.seat_labels, taken={"A2"})


def _rush(showtime, buyers: int) -> dict:
    users = [verified_user(f"rusher{n}") for n in range(buyers)]
    return at_once(
        lambda n: services.hold_seats(user=users[n], showtime=showtime, best=2), range(buyers)
    )


@POSTGRES_ONLY
def test_racing_best_available_buyers_each_get_their_own_seats(movie):
    showtime = _hall(movie, 8, 10)

    results = _rush(showtime, 30)

    refused = [result for result in results.values() if not isinstance(result, Booking)]
    assert not refused, refused
    held = [label for booking in results.values() for label in booking.seat_labels]
    assert len(held) == 60 and len(set(held)) == 60
    states = _states(showtime)
    assert set(states.held) == set(held)
    assert {states.held[label] for label in held} == {b.hold_token for b in results.values()}


@POSTGRES_ONLY
def test_when_the_seats_run_out_the_rest_are_told_so(movie):
    showtime = _hall(movie, 2, 10)

    results = _rush(showtime, 16)

    winners = [result for result in results.values() if isinstance(result, Booking)]
    refused = [result for result in results.values() if not isinstance(result, Booking)]
    assert all(isinstance(error, SeatsUnavailable) for error in refused), refused
    assert {str(error) for error in refused} <= {
        "Sold out: every seat is sold or held.",
        "There are no 2 seats together left.",
    }
    held = [label for booking in winners for label in booking.seat_labels]
    assert len(held) == len(set(held))
    plan = get_plan(showtime.auditorium)
    assert not ranked_blocks(plan=plan, taken=set(_states(showtime).held), count=2, limit=1)
    assert len(winners) >= 9


def test_losing_the_second_ranking_too_asks_the_buyer_to_try_again(movie, user, monkeypatch):
    """Taken again between the second reading and its hold (the reading made to return the
    first one's states, as if every block it ranks went meanwhile): a 409, nothing held."""
    monkeypatch.setattr(holds, "MAX_BLOCKS", 1)
    showtime = _hall(movie, 1, 10)
    seen = _states(showtime)
    monkeypatch.setattr(holding, "read_seat_states", lambda **_: seen)
    _take(showtime, services.suggest_best_seats(showtime=showtime, count=2, states=seen).labels)

    with pytest.raises(SeatsUnavailable, match="at the same moment"):
        services.hold_seats(user=user, showtime=showtime, best=2, states=seen)
    assert not Booking.objects.exists()
