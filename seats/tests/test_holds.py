import threading
import time

import pytest

from seats import holds

ST = 7


def _hold(labels, token, ttl=60, showtime_id=ST):
    return holds.hold(showtime_id=showtime_id, labels=labels, token=token, ttl_seconds=ttl)


@pytest.mark.parametrize(
    ("first", "second", "conflicts"),
    [
        (["A1", "A2"], ["A2", "A3"], ["A2"]),
        (["A1", "A2", "A3"], ["A3", "A1", "A4"], ["A3", "A1"]),
        (["B1"], ["B1"], ["B1"]),
        (["C1", "C2"], ["C3", "C4"], []),
    ],
)
def test_hold_is_all_or_nothing(redis_db, first, second, conflicts):
    assert _hold(first, "alice").ok
    result = _hold(second, "bob")
    assert result.ok is (not conflicts)
    assert result.conflicts == conflicts
    held = holds.held_labels(showtime_id=ST, labels=sorted(set(first) | set(second)))
    expected = {label: "alice" for label in first}
    if not conflicts:
        expected |= {label: "bob" for label in second}
    assert held == expected


def test_same_token_refreshes_the_ttl(redis_db):
    _hold(["A1", "A2"], "alice", ttl=5)
    redis_db.pexpire(holds.seat_key(ST, "A1"), 1000)
    result = _hold(["A1", "A2", "A3"], "alice", ttl=5)
    assert result.ok
    assert redis_db.pttl(holds.seat_key(ST, "A1")) > 4000
    assert holds.owns(showtime_id=ST, labels=["A1", "A2", "A3"], token="alice")


@pytest.mark.parametrize("action", ["release", "extend"])
def test_a_foreign_token_cannot_release_or_extend(redis_db, action):
    _hold(["A1", "A2"], "alice", ttl=5)
    if action == "release":
        assert holds.release(showtime_id=ST, labels=["A1", "A2"], token="mallory") == []
    else:
        result = holds.extend(
            showtime_id=ST, labels=["A1"], token="mallory", ttl_seconds=60, max_extensions=2
        )
        assert result.status is holds.ExtendStatus.LOST
    assert holds.held_labels(showtime_id=ST, labels=["A1", "A2"]) == {"A1": "alice", "A2": "alice"}
    assert redis_db.pttl(holds.seat_key(ST, "A1")) <= 5000


def test_release_frees_only_the_tokens_seats_and_their_index_entries(redis_db):
    _hold(["A1", "A2"], "alice")
    _hold(["A3"], "bob")
    released = holds.release(showtime_id=ST, labels=["A1", "A2", "A3"], token="alice")
    assert released == ["A1", "A2"]
    assert holds.held_labels(showtime_id=ST, labels=["A1", "A2", "A3"]) == {"A3": "bob"}
    assert redis_db.zrange(holds.index_key(ST), 0, -1) == ["A3"]


def test_extension_is_capped(redis_db):
    _hold(["A1", "A2"], "alice", ttl=5)
    statuses = [
        holds.extend(
            showtime_id=ST, labels=["A1", "A2"], token="alice", ttl_seconds=60, max_extensions=2
        ).status
        for _ in range(3)
    ]
    assert statuses == [
        holds.ExtendStatus.OK,
        holds.ExtendStatus.OK,
        holds.ExtendStatus.CAP_REACHED,
    ]
    assert redis_db.pttl(holds.seat_key(ST, "A2")) > 55000


def test_extend_needs_every_seat_still_owned(redis_db):
    _hold(["A1", "A2"], "alice")
    holds.release(showtime_id=ST, labels=["A2"], token="alice")
    _hold(["A2"], "bob")
    result = holds.extend(
        showtime_id=ST, labels=["A1", "A2"], token="alice", ttl_seconds=60, max_extensions=2
    )
    assert result.status is holds.ExtendStatus.LOST


def test_holds_expire_by_themselves(redis_db):
    assert _hold(["A1"], "alice", ttl=1).ok
    assert not _hold(["A1"], "bob").ok
    time.sleep(1.2)
    assert holds.held_labels(showtime_id=ST, labels=["A1"]) == {}
    assert _hold(["A1"], "bob").ok


def test_expiry_index_lists_due_seats(redis_db):
    first = _hold(["A1", "A2"], "alice", ttl=1)
    _hold(["B1"], "bob", ttl=60)
    scores = dict(redis_db.zrange(holds.index_key(ST), 0, -1, withscores=True))
    assert scores["A1"] == first.expires_at.timestamp() * 1000
    assert scores["B1"] > scores["A1"]
    assert holds.due(showtime_id=ST) == []
    time.sleep(1.1)
    assert sorted(holds.due(showtime_id=ST)) == ["A1", "A2"]


def test_fences_strictly_increase(redis_db):
    fences = [_hold([f"A{n}"], f"token{n}").fence for n in range(1, 6)]
    fences.append(_hold(["A1"], "token1").fence)  # a refresh gets a new fence too
    assert fences == sorted(set(fences))
    assert len(fences) == 6


def test_every_key_carries_the_showtime_hash_tag(redis_db):
    _hold(["A1", "A2"], "alice", showtime_id=42)
    holds.extend(showtime_id=42, labels=["A1"], token="alice", ttl_seconds=60, max_extensions=2)
    keys = redis_db.keys("*")
    assert len(keys) == 5  # two seats, index, fence, meta
    assert all("{st42}" in key for key in keys)


def test_scripts_are_reloaded_after_script_flush(redis_db):
    assert _hold(["A1"], "alice").ok
    redis_db.script_flush()
    assert _hold(["A2"], "alice").ok
    assert holds.release(showtime_id=ST, labels=["A1", "A2"], token="alice") == ["A1", "A2"]


def test_owns_is_false_for_a_partial_or_empty_hold(redis_db):
    _hold(["A1"], "alice")
    assert holds.owns(showtime_id=ST, labels=["A1"], token="alice")
    assert not holds.owns(showtime_id=ST, labels=["A1", "A2"], token="alice")
    assert not holds.owns(showtime_id=ST, labels=[], token="alice")


def test_racing_threads_never_share_a_seat(redis_db):
    seats = [f"A{n}" for n in range(1, 9)]
    results: dict[str, holds.HoldResult] = {}
    wanted: dict[str, list[str]] = {}
    start = threading.Barrier(60)

    def worker(n: int):
        labels = [seats[n % 8], seats[(n * 3 + 1) % 8], seats[(n * 5 + 2) % 8]]
        labels = list(dict.fromkeys(labels))
        token = f"t{n}"
        wanted[token] = labels
        start.wait()
        results[token] = _hold(labels, token)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = {token for token, result in results.items() if result.ok}
    held = holds.held_labels(showtime_id=ST, labels=seats)
    assert winners
    for token in winners:
        assert all(held[label] == token for label in wanted[token])
    claimed = [label for token in winners for label in wanted[token]]
    assert len(claimed) == len(set(claimed))
    assert set(held.values()) == winners
