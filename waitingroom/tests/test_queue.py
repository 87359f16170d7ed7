"""The waiting room's queue in a real Redis: fair order, one place each, admission by the rules."""

import threading
from itertools import combinations

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
    first = queue.join(showtime_id=SHOWTIME, member="m3", on_sale_ms=0, now=ON_SALE + 50)
    again = queue.join(showtime_id=SHOWTIME, member="m3", on_sale_ms=0, now=ON_SALE + 99)
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
    joined_again = queue.join(showtime_id=SHOWTIME, member="m05", on_sale_ms=0, now=ON_SALE)
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


def test_signing_in_keeps_an_anonymous_visitors_place(redis_db):
    for member in ["a-first", "anon-x", "a-third"]:
        queue.join(showtime_id=SHOWTIME, member=member, on_sale_ms=0, now=ON_SALE)
    queue.rename(showtime_id=SHOWTIME, old="anon-x", new="u42")
    assert queue.place(showtime_id=SHOWTIME, member="u42", now=ON_SALE).ahead == 1
    assert queue.place(showtime_id=SHOWTIME, member="anon-x", now=ON_SALE) is None


def test_a_restarted_redis_connection_finds_every_place(redis_db):
    """The queue lives in Redis alone: a new client (a restarted worker or web process) reads
    the same places."""
    for n in range(3):
        queue.join(showtime_id=SHOWTIME, member=f"m{n}", on_sale_ms=0, now=ON_SALE + n)
    queue._scripts_for.cache_clear()
    redis_db.script_flush()
    assert queue.join(showtime_id=SHOWTIME, member="m2", on_sale_ms=0, now=ON_SALE).ahead == 2
