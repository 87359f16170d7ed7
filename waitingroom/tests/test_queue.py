"""The waiting room's queue in a real Redis: fair order, one place each, admission by the rules."""

import threading
from itertools import combinations

from infra.redis import lua_scripts
from waitingroom import queue

SHOWTIME = 7
ON_SALE = 1_000_000  # epoch ms in these tests' own clock
MINUTE = 60_000


def _rules(**changes) -> queue.Rules:
    values = {
        "on_sale_ms": ON_SALE,
        "max_active": 10_000,
        "rate_per_minute": 600_000,
        "window_ms": 10 * MINUTE,
    }
    return queue.Rules(**(values | changes))


def kendall_tau(order: list[int]) -> float:
    """Agreement of `order` with 0, 1, 2, ...: 1 the same, -1 reversed, about 0 unrelated."""
    pairs = list(combinations(range(len(order)), 2))
    concordant = sum(1 for i, j in pairs if order[i] < order[j])
    return (2 * concordant - len(pairs)) / len(pairs)


def _admit_everyone(now: int) -> list[str]:
    admitted = []
    while True:
        members, _ = queue.admit(showtime_id=SHOWTIME, rules=_rules(), now=now)
        if not members:
            return admitted
        admitted += members


def test_the_pre_queue_is_one_random_order_then_arrivals_queue_in_order(redis_db):
    # 1,000 early: a random order's tau is within 0.1 of 0 but once in ~10^5 runs (sd 0.021).
    early = [f"early-{n}" for n in range(1000)]
    late = [f"late-{n}" for n in range(100)]
    for n, member in enumerate(early):
        queue.join(showtime_id=SHOWTIME, member=member, on_sale_ms=ON_SALE, now=ON_SALE - 5000 + n)
    for n, member in enumerate(late):
        queue.join(showtime_id=SHOWTIME, member=member, on_sale_ms=ON_SALE, now=ON_SALE + n)
    admitted = _admit_everyone(now=ON_SALE + 1000)
    assert len(admitted) == 1100 and set(admitted) == set(early + late)
    assert set(admitted[:1000]) == set(early)  # the whole pre-queue before any late arrival
    assert admitted[1000:] == late  # first come, first served
    tau = kendall_tau([int(member.split("-")[1]) for member in admitted[:1000]])
    assert abs(tau) < 0.1, tau  # the pre-queue's order is unrelated to arrival


def test_joining_again_finds_the_same_place(redis_db):
    for n in range(5):
        queue.join(showtime_id=SHOWTIME, member=f"m{n}", on_sale_ms=0, now=ON_SALE + n)
    first, _ = queue.join(showtime_id=SHOWTIME, member="m3", on_sale_ms=0, now=ON_SALE + 50)
    again, _ = queue.join(showtime_id=SHOWTIME, member="m3", on_sale_ms=0, now=ON_SALE + 99)
    assert first == again == queue.Place(admitted=False, ahead=3)
    assert queue.place(showtime_id=SHOWTIME, member="m3", now=ON_SALE) == first
    assert queue.place(showtime_id=SHOWTIME, member="nobody", now=ON_SALE) is None


def test_admission_keeps_to_the_active_slots_and_frees_them(redis_db):
    for n in range(30):
        queue.join(showtime_id=SHOWTIME, member=f"m{n:02}", on_sale_ms=0, now=ON_SALE + n)
    rules = _rules(max_active=10, window_ms=MINUTE)
    first, deadline = queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 100)
    assert first == [f"m{n:02}" for n in range(10)] and deadline == ON_SALE + 100 + MINUTE
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 200)[0] == []
    # Finishing (or leaving) frees a slot for the next in line.
    assert queue.leave(showtime_id=SHOWTIME, member="m04")
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 300)[0] == ["m10"]
    joined_again, _ = queue.join(showtime_id=SHOWTIME, member="m05", on_sale_ms=0, now=ON_SALE)
    assert joined_again.admitted
    # A shopper who lets their time run out frees theirs too.
    later, _ = queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 100 + MINUTE + 1)
    assert later == [f"m{n}" for n in range(11, 20)]
    assert queue.sizes(showtime_id=SHOWTIME, now=ON_SALE + 100 + MINUTE + 2) == (10, 10)


def test_admission_keeps_to_the_rate(redis_db):
    for n in range(100):
        queue.join(showtime_id=SHOWTIME, member=f"m{n:03}", on_sale_ms=0, now=ON_SALE + n)
    rules = _rules(rate_per_minute=60)  # one a second, at most ten at once after a pause
    burst, _ = queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1000)
    assert len(burst) == 10
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1500)[0] == []
    assert len(queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 4000)[0]) == 3


def test_nobody_is_admitted_before_on_sale_or_while_paused(redis_db):
    queue.join(showtime_id=SHOWTIME, member="early", on_sale_ms=ON_SALE, now=ON_SALE - 10)
    assert queue.admit(showtime_id=SHOWTIME, rules=_rules(), now=ON_SALE - 1)[0] == []
    assert queue.admit(showtime_id=SHOWTIME, rules=_rules(paused=True), now=ON_SALE + 1)[0] == []
    assert queue.admit(showtime_id=SHOWTIME, rules=_rules(), now=ON_SALE + 2)[0] == ["early"]


def test_two_workers_at_once_admit_no_one_twice(redis_db):
    for n in range(500):
        queue.join(showtime_id=SHOWTIME, member=f"m{n:03}", on_sale_ms=0, now=ON_SALE + n)
    rules = _rules(max_active=300)
    admitted: list[str] = []
    start = threading.Barrier(8)

    def worker():
        start.wait()
        for _ in range(20):
            admitted.extend(queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1000)[0])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(admitted) == len(set(admitted)) == 300
    assert sorted(admitted) == [f"m{n:03}" for n in range(300)]


def test_a_restarted_redis_connection_finds_every_place(redis_db):
    """The queue lives in Redis alone: a new client (a restarted worker or web process) reads
    the same places."""
    for n in range(3):
        queue.join(showtime_id=SHOWTIME, member=f"m{n}", on_sale_ms=0, now=ON_SALE + n)
    lua_scripts.cache_clear()
    redis_db.script_flush()
    assert queue.join(showtime_id=SHOWTIME, member="m2", on_sale_ms=0, now=ON_SALE)[0].ahead == 2


def test_places_lost_with_redis_come_back_from_their_claims(redis_db):
    """Redis restarted with nothing on disk (or failed over and lost the room): everyone's
    claim gives them their place back, in the old order, whoever comes back first."""
    early = ["e0", "e1", "e2"]
    claims = {}
    for n, member in enumerate(early):
        _, claims[member] = queue.join(
            showtime_id=SHOWTIME, member=member, on_sale_ms=ON_SALE, now=ON_SALE - 100 + n
        )
    for n, member in enumerate(["l0", "l1", "shopper"]):
        _, claims[member] = queue.join(
            showtime_id=SHOWTIME, member=member, on_sale_ms=ON_SALE, now=ON_SALE + n
        )
    order = [member for member, _ in redis_db.zrange("wr:{st7}:queue", 0, -1, withscores=True)]
    rules = _rules(max_active=1)
    # The first in line shops; its claim is now its admission.
    (first,), deadline = queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 10)
    place, claims[first] = queue.join(
        showtime_id=SHOWTIME, member=first, on_sale_ms=ON_SALE, now=ON_SALE + 11
    )
    assert place.admitted and claims[first].deadline_ms == deadline

    redis_db.flushdb()
    lua_scripts.cache_clear()

    for member in reversed(order):  # the last in line comes back first
        queue.join(
            showtime_id=SHOWTIME,
            member=member,
            on_sale_ms=ON_SALE,
            claim=claims[member],
            now=ON_SALE + 20,
        )
    newcomer, _ = queue.join(
        showtime_id=SHOWTIME, member="new", on_sale_ms=ON_SALE, now=ON_SALE + 21
    )
    assert newcomer.ahead == len(order) - 1  # behind everyone given back
    assert queue.place(showtime_id=SHOWTIME, member=first, now=ON_SALE + 22).admitted
    assert _admit_everyone(now=ON_SALE + 10 * MINUTE + 11) == [*order[1:], "new"]


def test_a_claim_from_the_same_room_gives_nothing_back(redis_db):
    """Without a loss a claim is no ticket to the front: a shopper who left, or whose time ran
    out, queues again at the back."""
    _, claim = queue.join(showtime_id=SHOWTIME, member="gone", on_sale_ms=0, now=ON_SALE)
    queue.join(showtime_id=SHOWTIME, member="next", on_sale_ms=0, now=ON_SALE + 1)
    queue.admit(showtime_id=SHOWTIME, rules=_rules(max_active=1), now=ON_SALE + 2)
    _, admitted = queue.join(showtime_id=SHOWTIME, member="gone", on_sale_ms=0, now=ON_SALE + 3)
    queue.leave(showtime_id=SHOWTIME, member="gone")
    for old in (claim, admitted):
        again, _ = queue.join(
            showtime_id=SHOWTIME, member="gone", on_sale_ms=0, claim=old, now=ON_SALE + 4
        )
        assert again == queue.Place(admitted=False, ahead=1)


def test_a_shopper_away_longer_than_the_grace_frees_their_slot(redis_db):
    for n, member in enumerate(["here", "left", "asleep", "next"]):
        queue.join(showtime_id=SHOWTIME, member=member, on_sale_ms=0, now=ON_SALE - 10 + n)
    rules = _rules(max_active=2)
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1)[0] == ["here", "left"]
    for member in ["here", "left", "asleep"]:
        queue.presence(showtime_id=SHOWTIME, member=member, opened=True, now=ON_SALE + 2)
    # Two tabs: closing one is not leaving.
    queue.presence(showtime_id=SHOWTIME, member="here", opened=True, now=ON_SALE + 2)
    queue.presence(showtime_id=SHOWTIME, member="here", opened=False, now=ON_SALE + 3)
    queue.presence(showtime_id=SHOWTIME, member="left", opened=False, now=ON_SALE + 3)
    # "asleep" is still queued when its phone drops the page.
    queue.presence(showtime_id=SHOWTIME, member="asleep", opened=False, now=ON_SALE + 3)
    grace_over = ON_SALE + 3 + queue.GRACE_MS + 1
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=grace_over - 2)[0] == []
    # "left" is freed; "asleep" is let in and gets the grace from then on to come back.
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=grace_over)[0] == ["asleep"]
    assert queue.place(showtime_id=SHOWTIME, member="left", now=grace_over) is None
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=grace_over + 1000)[0] == []
    later = grace_over + queue.GRACE_MS + 1
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=later)[0] == ["next"]
    assert queue.place(showtime_id=SHOWTIME, member="here", now=later).admitted


def test_a_shopper_let_in_who_never_opens_a_page_frees_their_slot_after_the_grace(redis_db):
    """Let in, and no page of the sale ever opened (a place taken and abandoned, a script): the
    slot goes to the next in line after the grace, as a shopper's who left does."""
    for n, member in enumerate(["ghost", "next"]):
        queue.join(showtime_id=SHOWTIME, member=member, on_sale_ms=0, now=ON_SALE - 10 + n)
    rules = _rules(max_active=1)
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1)[0] == ["ghost"]
    grace_over = ON_SALE + 1 + queue.GRACE_MS
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=grace_over - 1)[0] == []
    assert queue.admit(showtime_id=SHOWTIME, rules=rules, now=grace_over + 1)[0] == ["next"]
    assert queue.place(showtime_id=SHOWTIME, member="ghost", now=grace_over + 1) is None


def test_the_pace_is_what_was_let_in_over_the_last_minute(redis_db):
    for n in range(50):
        queue.join(showtime_id=SHOWTIME, member=f"m{n:02}", on_sale_ms=0, now=ON_SALE)
    rules = _rules(rate_per_minute=60)  # one a second
    assert queue.pace(showtime_id=SHOWTIME, on_sale_ms=ON_SALE, now=ON_SALE) is None
    for second in range(1, 4):
        queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + second * 1000)
    # 10 (the full bucket: ten seconds' worth) + 1 + 1 in the 4 s since on-sale: 180 a minute.
    assert queue.pace(showtime_id=SHOWTIME, on_sale_ms=ON_SALE, now=ON_SALE + 4000) == 180
    assert queue.pace(showtime_id=SHOWTIME, on_sale_ms=ON_SALE, now=ON_SALE + 4000 + MINUTE) is None


def test_arrivals_queue_by_when_they_reached_the_site_not_when_they_were_served(redis_db):
    """Two web processes serve their waiting requests at their own pace: the one that reached
    the site first is ahead, whichever was served first."""
    queue.join(showtime_id=SHOWTIME, member="served-first", on_sale_ms=ON_SALE, now=ON_SALE + 50.5)
    queue.join(showtime_id=SHOWTIME, member="came-first", on_sale_ms=ON_SALE, now=ON_SALE + 50.2)
    assert queue.place(showtime_id=SHOWTIME, member="came-first", now=ON_SALE + 60).ahead == 0
    # Arrived before on-sale, served after it: still in the pre-queue.
    queue.join(showtime_id=SHOWTIME, member="early", on_sale_ms=ON_SALE, now=ON_SALE - 1)
    assert queue.place(showtime_id=SHOWTIME, member="early", now=ON_SALE + 60).ahead == 0


def test_a_wait_is_estimated_from_the_pace_after_the_first_burst(redis_db):
    for n in range(50):
        queue.join(showtime_id=SHOWTIME, member=f"m{n:02}", on_sale_ms=0, now=ON_SALE)
    rules = _rules(rate_per_minute=60)  # one a second
    queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + 1000)
    # The first pass lets in ten at once: no turnover yet to estimate a wait from.
    assert queue.turnover(showtime_id=SHOWTIME, on_sale_ms=ON_SALE, now=ON_SALE + 2000) is None
    for second in range(2, 4):
        queue.admit(showtime_id=SHOWTIME, rules=rules, now=ON_SALE + second * 1000)
    # 1 + 1 in the 3 s since that burst: 40 a minute, where counting it made 180.
    assert queue.turnover(showtime_id=SHOWTIME, on_sale_ms=ON_SALE, now=ON_SALE + 4000) == 40


def test_places_say_who_is_admitted_queued_lapsed_or_gone_in_order(redis_db, monkeypatch):
    monkeypatch.setattr(queue, "PLACES_PER_CALL", 2)  # several calls, one answer in order
    now = 1_000_000
    for n in range(4):
        queue.join(showtime_id=SHOWTIME, member=f"m{n}", on_sale_ms=0, now=now + n)
    queue.admit(showtime_id=SHOWTIME, rules=_rules(max_active=1), now=now + 10)
    found = queue.places(
        showtime_id=SHOWTIME, members=["m3", "nobody", "m0", "m1", "m2"], now=now + 20
    )
    deadline = found[2].deadline_ms
    assert found == [
        queue.Place(admitted=False, ahead=2),
        None,
        queue.Place(admitted=True, deadline_ms=deadline),
        queue.Place(admitted=False, ahead=0),
        queue.Place(admitted=False, ahead=1),
    ]
    assert deadline > now + 20
    # Past its deadline an admitted member has no place to show (the worker frees the slot).
    assert queue.places(showtime_id=SHOWTIME, members=["m0"], now=deadline + 1) == [None]
    assert queue.places(showtime_id=SHOWTIME, members=[]) == []


def test_an_admission_that_ran_out_is_over_however_long_ago_the_visit_arrived(redis_db):
    """A visit queues by the moment it arrived (it may have waited long for a web process, or
    kept the moment it first knocked), but whether an admission still holds is a matter of now."""
    queue.join(showtime_id=SHOWTIME, member="m", on_sale_ms=0, now=ON_SALE)
    (_,), deadline = queue.admit(showtime_id=SHOWTIME, rules=_rules(max_active=1), now=ON_SALE + 1)
    place, _ = queue.join(
        showtime_id=SHOWTIME, member="m", on_sale_ms=0, now=deadline + 1, arrived=deadline - 5000
    )
    assert place == queue.Place(admitted=False, ahead=0)  # in line again, as it arrived
