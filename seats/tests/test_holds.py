"""The hold module against a real Redis: atomicity, ownership, expiry, fencing, key layout."""

import threading
import time
from datetime import timedelta

import pytest
from redis.crc import key_slot

from infra.redis import get_redis
from seats import holds

ST = 7
OK, LOST, CAP = holds.ExtendStatus.OK, holds.ExtendStatus.LOST, holds.ExtendStatus.CAP_REACHED


def _hold(labels, token, ttl=60, showtime_id=ST, **kwargs):
    return holds.hold(
        showtime_id=showtime_id, labels=labels, token=token, ttl_seconds=ttl, **kwargs
    )


def _extend(labels, token, ttl=60, **kwargs):
    return holds.extend(showtime_id=ST, labels=labels, token=token, ttl_seconds=ttl, **kwargs)


def _snapshot(client) -> dict[str, bytes]:
    """Every key with its serialized value: equal snapshots mean nothing was written."""
    return {key: client.dump(key) for key in client.keys("*")}


@pytest.mark.parametrize(
    ("before", "labels", "conflicts"),
    [
        # Partial overlap: only the seat in the way is named.
        ({"alice": ["A1", "A2"]}, ["A2", "A3"], ["A2"]),
        # Conflicts come back in the order they were asked for.
        ({"alice": ["A1", "A2", "A3"]}, ["A3", "A1", "A4"], ["A3", "A1"]),
        ({"alice": ["B1"]}, ["B1"], ["B1"]),
        ({"alice": ["A1"], "carol": ["A3"]}, ["A1", "A2", "A3"], ["A1", "A3"]),
        # Bob's own seats are not in his way; Alice's still are.
        ({"bob": ["A1"], "alice": ["A2"]}, ["A1", "A2"], ["A2"]),
        ({"alice": ["A1"]}, ["A1", "A1", "A2"], ["A1"]),
        ({"alice": ["C1", "C2"]}, ["C3", "C4"], []),
        ({"bob": ["A1"]}, ["A1", "A2"], []),
    ],
)
def test_hold_is_all_or_nothing(redis_db, before, labels, conflicts):
    for token, seats in before.items():
        assert _hold(seats, token).ok
    snapshot = _snapshot(redis_db)

    result = _hold(labels, "bob")

    assert result.ok is (not conflicts)
    assert result.conflicts == conflicts
    everything = sorted({*labels, *(label for seats in before.values() for label in seats)})
    held = holds.held_labels(showtime_id=ST, labels=everything)
    expected = {label: token for token, seats in before.items() for label in seats}
    if conflicts:
        assert result.fence is None and result.expires_at is None
        assert _snapshot(redis_db) == snapshot  # no seat, index entry, meta or fence changed
    else:
        expected |= dict.fromkeys(labels, "bob")
    assert held == expected


def test_same_token_refreshes_the_ttl(redis_db):
    _hold(["A1", "A2"], "alice", ttl=5)
    redis_db.pexpire(holds.seat_key(ST, "A1"), 1000)
    result = _hold(["A1", "A2", "A3"], "alice", ttl=5)
    assert result.ok and result.conflicts == []
    assert 4000 < redis_db.pttl(holds.seat_key(ST, "A1")) <= 5000
    assert holds.owns(showtime_id=ST, labels=["A1", "A2", "A3"], token="alice")


def test_refresh_keeps_the_start_and_the_extension_count(redis_db):
    _hold(["A1"], "alice")
    started = redis_db.get(holds.window_key(ST, "alice"))
    assert _extend(["A1"], "alice", max_extensions=1).status is OK
    time.sleep(0.01)
    assert _hold(["A1"], "alice").ok
    assert redis_db.hget(holds.meta_key(ST, "alice"), "extensions") == "1"
    assert redis_db.get(holds.window_key(ST, "alice")) == started
    assert _extend(["A1"], "alice", max_extensions=1).status is CAP


@pytest.mark.parametrize("action", ["release", "extend"])
def test_a_foreign_token_cannot_release_or_extend(redis_db, action):
    _hold(["A1", "A2"], "alice", ttl=5)
    snapshot = _snapshot(redis_db)
    if action == "release":
        assert holds.release(showtime_id=ST, labels=["A1", "A2"], token="mallory") == []
    else:
        result = _extend(["A1", "A2"], "mallory", max_extensions=2)
        assert result.status is LOST
        assert result.lost == ["A1", "A2"]
    assert _snapshot(redis_db) == snapshot
    assert holds.held_labels(showtime_id=ST, labels=["A1", "A2"]) == {"A1": "alice", "A2": "alice"}
    assert redis_db.pttl(holds.seat_key(ST, "A1")) <= 5000


@pytest.mark.parametrize(
    ("labels", "released", "left"),
    [
        (["A1", "A2", "B1"], ["A1", "A2"], {"B1": "bob"}),
        (["A2"], ["A2"], {"A1": "alice", "B1": "bob"}),
        (["B1", "C9"], [], {"A1": "alice", "A2": "alice", "B1": "bob"}),
        ([], [], {"A1": "alice", "A2": "alice", "B1": "bob"}),
    ],
)
def test_release_frees_only_the_tokens_seats_and_their_index_entries(
    redis_db, labels, released, left
):
    _hold(["A1", "A2"], "alice")
    _hold(["B1"], "bob")
    assert holds.release(showtime_id=ST, labels=labels, token="alice") == released
    assert holds.held_labels(showtime_id=ST, labels=["A1", "A2", "B1"]) == left
    assert sorted(redis_db.zrange(holds.index_key(ST), 0, -1)) == sorted(left)


@pytest.mark.parametrize("cap", [0, 1, 2, 3])
def test_extension_is_capped(redis_db, cap):
    _hold(["A1", "A2"], "alice", ttl=5, max_extensions=cap)
    redis_db.pexpire(holds.seat_key(ST, "A2"), 1000)
    statuses = [
        _extend(["A1", "A2"], "alice", ttl=5, max_extensions=cap).status for _ in range(cap + 1)
    ]
    assert statuses == [OK] * cap + [CAP]
    assert redis_db.hget(holds.meta_key(ST, "alice"), "extensions") == str(cap)
    assert (redis_db.pttl(holds.seat_key(ST, "A2")) > 4000) is (cap > 0)


@pytest.mark.parametrize(("setting", "allowed"), [(1, 1), (3, 3), (None, 2)])
def test_the_cap_defaults_to_the_setting(redis_db, settings, setting, allowed):
    if setting is None:
        del settings.HOLD_MAX_EXTENSIONS
    else:
        settings.HOLD_MAX_EXTENSIONS = setting
    _hold(["A1"], "alice")
    statuses = [_extend(["A1"], "alice").status for _ in range(allowed + 1)]
    assert statuses == [OK] * allowed + [CAP]


def test_extend_renews_the_ttl_and_the_index_entry(redis_db):
    held = _hold(["A1", "A2"], "alice", ttl=60)
    redis_db.pexpire(holds.seat_key(ST, "A1"), 1000)
    time.sleep(0.05)
    result = _extend(["A1", "A2"], "alice", ttl=60, max_extensions=2)
    assert result.status is OK and result.lost == []
    assert result.expires_at - held.expires_at >= timedelta(seconds=0.05)
    assert redis_db.pttl(holds.seat_key(ST, "A1")) > 55000
    assert redis_db.pttl(holds.meta_key(ST, "alice")) > 55000
    scores = dict(redis_db.zrange(holds.index_key(ST), 0, -1, withscores=True))
    assert scores == dict.fromkeys(["A1", "A2"], result.expires_at.timestamp() * 1000)


@pytest.mark.parametrize(
    ("lose", "lost"),
    [
        ("released", ["A2"]),
        ("taken", ["A2"]),
        ("expired", ["A1", "A2"]),
    ],
)
def test_extend_needs_every_seat_still_owned(redis_db, lose, lost):
    _hold(["A1", "A2", "A3"], "alice", ttl=5)
    if lose == "released":
        holds.release(showtime_id=ST, labels=["A2"], token="alice")
    elif lose == "taken":
        holds.release(showtime_id=ST, labels=["A2"], token="alice")
        assert _hold(["A2"], "bob").ok
    else:
        redis_db.delete(holds.seat_key(ST, "A1"), holds.seat_key(ST, "A2"))
    result = _extend(["A1", "A2", "A3"], "alice", max_extensions=2)
    assert result.status is LOST
    assert result.lost == lost
    assert result.expires_at is None
    # Nothing was renewed: the seat still owned keeps its old TTL.
    assert redis_db.pttl(holds.seat_key(ST, "A3")) <= 5000


def test_holds_expire_by_themselves(redis_db):
    assert _hold(["A1"], "alice", ttl=1).ok
    assert _hold(["A1"], "bob").conflicts == ["A1"]
    time.sleep(1.2)
    assert holds.held_labels(showtime_id=ST, labels=["A1"]) == {}
    assert not holds.owns(showtime_id=ST, labels=["A1"], token="alice")
    # The meta stays to the deadline (TTL x 3), keeping the extension count for a new hold.
    assert 0 < redis_db.pttl(holds.meta_key(ST, "alice")) <= 1800
    assert _hold(["A1"], "bob").ok


def test_expiry_index_scores_each_seat_by_its_hold_end(redis_db):
    before = int(time.time() * 1000)
    short = _hold(["A1", "A2"], "alice", ttl=10)
    after = int(time.time() * 1000)
    assert before + 10_000 <= short.expires_at.timestamp() * 1000 <= after + 10_000
    long = _hold(["B1"], "bob", ttl=60)
    scores = dict(redis_db.zrange(holds.index_key(ST), 0, -1, withscores=True))
    assert scores == {
        "A1": short.expires_at.timestamp() * 1000,
        "A2": short.expires_at.timestamp() * 1000,
        "B1": long.expires_at.timestamp() * 1000,
    }


@pytest.mark.parametrize(
    ("end", "offset", "due"),
    [
        ("short", timedelta(seconds=-1), []),
        ("short", timedelta(milliseconds=-1), []),
        ("short", timedelta(0), ["A1", "A2"]),
        ("long", timedelta(milliseconds=-1), ["A1", "A2"]),
        ("long", timedelta(0), ["A1", "A2", "B1"]),
        ("long", timedelta(days=1), ["A1", "A2", "B1"]),
    ],
)
def test_expired_lists_the_seats_due_by_then(redis_db, end, offset, due):
    ends = {
        "short": _hold(["A1", "A2"], "alice", ttl=10).expires_at,
        "long": _hold(["B1"], "bob", ttl=60).expires_at,
    }
    assert sorted(holds.expired(showtime_id=ST, now=ends[end] + offset)) == due


def test_expired_defaults_to_now(redis_db):
    _hold(["A1", "A2"], "alice", ttl=1)
    _hold(["B1"], "bob", ttl=60)
    assert holds.expired(showtime_id=ST) == []
    time.sleep(1.1)
    assert sorted(holds.expired(showtime_id=ST)) == ["A1", "A2"]


def test_only_the_fence_outlives_the_holds(redis_db, settings):
    settings.HOLD_MAX_EXTENSIONS = 2
    _hold(["A1"], "alice", ttl=5)
    # The meta lives to the owner's deadline, the window one cooldown (a TTL) past it.
    assert 10000 < redis_db.pttl(holds.meta_key(ST, "alice")) <= 15000
    assert 15000 < redis_db.pttl(holds.window_key(ST, "alice")) <= 20000
    index_ttl = redis_db.pttl(holds.index_key(ST))
    assert 5000 < index_ttl <= 5000 + holds.INDEX_GRACE_SECONDS * 1000
    # A shorter hold later must not cut the index short under the longer one.
    _hold(["A2"], "bob", ttl=1)
    assert redis_db.pttl(holds.index_key(ST)) > index_ttl - 1000
    assert redis_db.pttl(holds.fence_key(ST)) == -1


def test_fences_strictly_increase(redis_db):
    fences = [_hold([f"A{n}"], f"token{n}").fence for n in range(1, 6)]
    assert _hold(["A1"], "token2").fence is None  # a refused hold takes no number
    fences.append(_hold(["A1"], "token1").fence)  # a refresh gets a new one
    assert _extend(["A1"], "token1", max_extensions=2).status is OK  # extending takes none
    fences.append(_hold(["A9"], "token9").fence)
    assert fences == [1, 2, 3, 4, 5, 6, 7]


def test_every_key_carries_the_showtime_hash_tag(redis_db):
    _hold(["A1", "A2"], "alice", showtime_id=42)
    holds.extend(showtime_id=42, labels=["A1"], token="alice", ttl_seconds=60, max_extensions=2)
    keys = set(redis_db.keys("*"))
    assert keys == {
        "hold:{st42}:A1",
        "hold:{st42}:A2",
        "hold:{st42}:meta:alice",
        "hold:{st42}:window:alice",
        "holds:{st42}:exp",
        "holds:{st42}:fence",
        "holds:{st42}:version",
    }
    assert len({key_slot(key.encode()) for key in keys}) == 1


@pytest.mark.parametrize("action", ["hold", "extend", "release"])
def test_scripts_are_reloaded_after_script_flush(redis_db, action):
    assert _hold(["A1"], "alice").ok
    sha = getattr(holds._scripts_for(get_redis()), action).sha
    redis_db.script_flush()
    assert redis_db.script_exists(sha) == [False]
    if action == "hold":
        assert _hold(["A2"], "alice").ok
    elif action == "extend":
        assert _extend(["A1"], "alice", max_extensions=2).status is OK
    else:
        assert holds.release(showtime_id=ST, labels=["A1"], token="alice") == ["A1"]
    assert redis_db.script_exists(sha) == [True]


def test_held_labels_is_one_round_trip_for_a_large_hall(redis_db, monkeypatch):
    labels = [f"{row}{n}" for row in "ABCDEFGHIJ" for n in range(1, 51)]
    _hold(labels[:3], "alice")
    _hold(labels[-2:], "bob")
    client = get_redis()
    commands = []
    send = client.execute_command

    def counting(*args, **options):
        commands.append(args[0])
        return send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counting)
    held = holds.held_labels(showtime_id=ST, labels=labels)
    assert commands == ["MGET"]
    assert held == {"A1": "alice", "A2": "alice", "A3": "alice", "J49": "bob", "J50": "bob"}


@pytest.mark.parametrize(
    ("labels", "token", "owned"),
    [
        (["A1", "A2"], "alice", True),
        (["A2"], "alice", True),
        (["A1", "A3"], "alice", False),  # A3 is free
        (["A1", "B1"], "alice", False),  # B1 is bob's
        (["A1"], "bob", False),
        ([], "alice", False),
        (["A1"], "", False),
    ],
)
def test_owns_only_when_every_seat_is_the_tokens(redis_db, labels, token, owned):
    _hold(["A1", "A2"], "alice")
    _hold(["B1"], "bob")
    assert holds.owns(showtime_id=ST, labels=labels, token=token) is owned


@pytest.mark.parametrize(
    ("labels", "token", "ttl"),
    [([], "alice", 60), (["A1"], "", 60), (["A1"], "alice", 0), (["A1"], "alice", -5)],
)
@pytest.mark.parametrize("action", ["hold", "extend"])
def test_a_hold_needs_seats_a_token_and_a_ttl(redis_db, action, labels, token, ttl):
    call = holds.hold if action == "hold" else holds.extend
    with pytest.raises(ValueError):
        call(showtime_id=ST, labels=labels, token=token, ttl_seconds=ttl)
    assert redis_db.keys("*") == []


def test_racing_threads_never_share_a_seat(redis_db):
    seats = [f"A{n}" for n in range(1, 11)]
    # 2 to 4 seats each, spread differently: every seat is wanted by many threads.
    wanted = {
        f"t{n}": [seats[(n + step * (1 + n % 3)) % 10] for step in range(2 + n % 3)]
        for n in range(50)
    }
    results: dict[str, holds.HoldResult] = {}
    start = threading.Barrier(len(wanted))

    def worker(token: str):
        start.wait()
        results[token] = _hold(wanted[token], token)

    threads = [threading.Thread(target=worker, args=(token,)) for token in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    held = holds.held_labels(showtime_id=ST, labels=seats)
    winners = {token for token, result in results.items() if result.ok}
    losers = set(wanted) - winners
    assert len(results) == len(wanted)
    assert winners and losers
    claimed = [label for token in winners for label in wanted[token]]
    assert len(claimed) == len(set(claimed))  # no seat went to two winners
    for token in winners:
        assert all(held[label] == token for label in wanted[token])
    assert set(held.values()) == winners  # losers hold nothing, not even part of their seats
    for token in losers:
        conflicts = results[token].conflicts
        assert conflicts and set(conflicts) <= set(wanted[token])
        assert all(held[label] in winners for label in conflicts)
    assert sorted(results[token].fence for token in winners) == list(range(1, len(winners) + 1))


def _held_until(client, label: str) -> float:
    """Seconds from now until the seat's hold ends (0 when it is not held)."""
    return max(client.pttl(holds.seat_key(ST, label)), 0) / 1000


def test_reposting_the_same_seats_never_passes_the_deadline(redis_db):
    """TTL 1 s, one extension: whatever is posted, the owner's holds end 2 s after the first."""
    first = time.monotonic()
    while time.monotonic() - first < 2.6:
        result = holds.hold(
            showtime_id=ST, labels=["A1"], token="alice", ttl_seconds=1, max_extensions=1
        )
        if result.ok:
            assert time.monotonic() - first + _held_until(redis_db, "A1") <= 2.05
        else:
            assert time.monotonic() - first >= 1.95
            # The cooldown: the owner may hold again one TTL after the deadline.
            assert abs(time.monotonic() - first + result.retry_after - 3) < 0.1
        time.sleep(0.1)
    assert not result.ok and result.conflicts == []
    assert holds.held_labels(showtime_id=ST, labels=["A1"]) == {}
    # Someone else takes the seat at once.
    assert holds.hold(showtime_id=ST, labels=["A1"], token="bob", ttl_seconds=1).ok


@pytest.mark.parametrize("change", ["new selection", "release and hold again", "new token"])
def test_the_owners_deadline_survives_every_way_of_holding_again(redis_db, change):
    def hold(labels, token="t1"):  # noqa: S107
        return holds.hold(
            showtime_id=ST,
            labels=labels,
            token=token,
            ttl_seconds=2,
            max_extensions=1,
            owner="user:1",
        )

    deadline = hold(["A1"]).expires_at + timedelta(seconds=2)
    time.sleep(1.5)
    if change == "new selection":
        again = hold(["A2", "A3"])
    elif change == "release and hold again":
        holds.release(showtime_id=ST, labels=["A1"], token="t1")
        again = hold(["A1"])
    else:
        holds.release(showtime_id=ST, labels=["A1"], token="t1")
        again = hold(["A1"], token="t2")
    assert again.ok
    assert again.expires_at <= deadline
    assert (
        _held_until(redis_db, again_label := ("A2" if change == "new selection" else "A1")) <= 2.55
    )
    assert (
        holds.extend(
            showtime_id=ST,
            labels=["A2", "A3"] if change == "new selection" else [again_label],
            token="t1" if change != "new token" else "t2",
            ttl_seconds=2,
            max_extensions=1,
            owner="user:1",
        ).expires_at
        <= deadline
    )


def test_extending_stops_at_the_deadline(redis_db):
    assert _hold(["A1"], "alice", ttl=2, max_extensions=1).ok
    # Cap 1: life 4 s. Extending at once can only add what is left before the deadline.
    time.sleep(1)
    extended = _extend(["A1"], "alice", ttl=5, max_extensions=1)
    assert extended.status is OK
    assert 2.9 < _held_until(redis_db, "A1") <= 3.05
    assert _extend(["A1"], "alice", ttl=5, max_extensions=5).status is CAP


def test_the_cooldown_is_per_owner_and_a_purchase_ends_it(redis_db):
    def hold(owner, token):
        return holds.hold(
            showtime_id=ST, labels=["A1"], token=token, ttl_seconds=1, max_extensions=0, owner=owner
        )

    assert hold("user:1", "t1").ok
    time.sleep(1.05)
    assert hold("user:1", "t2").retry_after > 0.5
    assert hold("user:2", "t3").ok
    holds.close_window(showtime_id=ST, owner="user:1")
    assert hold("user:1", "t4").conflicts == ["A1"]  # free to try again; the seat is taken


def test_a_lost_fence_counter_starts_again_above_the_floor(redis_db):
    assert [_hold([f"A{n}"], f"t{n}").fence for n in (1, 2)] == [1, 2]
    redis_db.flushdb()  # Redis lost everything
    asked = []

    def floor():
        asked.append(True)
        return 474

    result = holds.hold(
        showtime_id=ST, labels=["A1"], token="t9", ttl_seconds=60, fence_floor=floor
    )
    assert result.fence == 475
    assert (
        holds.hold(
            showtime_id=ST, labels=["A2"], token="t8", ttl_seconds=60, fence_floor=floor
        ).fence
        == 476
    )
    assert asked == [True]  # only while the counter was missing


def _version() -> int:
    return holds.observe(showtime_id=ST, labels=[], number=False).version


def test_every_change_of_a_seat_takes_a_new_version_and_nothing_else_does(redis_db):
    versions = [_version()]
    assert versions[0] > 0, "a showtime read before any change is numbered then"

    def moved() -> bool:
        versions.append(_version())
        return versions[-1] > versions[-2]

    assert _hold(["A1", "A2"], "alice").ok and moved()
    assert not _hold(["A2"], "bob").ok and not moved()  # a refusal changes nothing
    assert _extend(["A1"], "alice", max_extensions=2).status is OK and not moved()
    assert holds.release(showtime_id=ST, labels=["A2"], token="bob") == [] and not moved()
    assert holds.release(showtime_id=ST, labels=["A2"], token="alice") == ["A2"] and moved()
    assert holds.sell(showtime_id=ST, labels=["A1"], token="alice") == ["A1"] and moved()
    assert holds.observe(showtime_id=ST, labels=["A1"], number=True).version and moved()


def test_versions_never_repeat_even_when_redis_lost_them(redis_db):
    assert _hold(["A1"], "alice").ok
    before = _version()
    # Within a microsecond's count of the clock: the floor, not a counter from 1.
    assert abs(before - time.time() * 1_000_000) < 5_000_000
    redis_db.delete(holds.version_key(ST))
    assert _hold(["A2"], "bob").ok
    assert _version() > before
    # A counter some writes behind (a failover's replica) is overtaken by the clock.
    redis_db.set(holds.version_key(ST), before - 1000)
    assert holds.release(showtime_id=ST, labels=["A2"], token="bob") == ["A2"]
    assert _version() > before


def test_observe_reads_holders_and_the_version_in_one_step(redis_db):
    assert _hold(["A1"], "u7.token").ok
    assert holds.sell(showtime_id=ST, labels=["A1"], token="u7.token")
    assert _hold(["A2"], "u8.token").ok
    seen = holds.observe(showtime_id=ST, labels=["A1", "A2", "A3"], number=False)
    assert seen.held == {"A2": "u8.token"}  # a sold mark is not a hold
    assert seen.version == _version()
    told = holds.observe(showtime_id=ST, labels=["A2"], number=True)
    assert told.version > seen.version and told.held == {"A2": "u8.token"}


def test_a_hold_that_ended_by_itself_lapses_once_and_takes_a_version(redis_db):
    assert _hold(["A1", "A2"], "alice", ttl=1).ok
    assert _hold(["A3"], "bob", ttl=60).ok
    assert holds.lapse(showtime_id=ST) == holds.Lapse(0, [])  # nothing has ended yet
    assert holds.with_lapses([ST, ST + 1]) == []
    time.sleep(1.1)
    assert holds.with_lapses([ST, ST + 1]) == [ST]
    before = _version()
    lapsed = holds.lapse(showtime_id=ST)
    assert sorted(lapsed.labels) == ["A1", "A2"] and lapsed.version > before
    assert holds.lapse(showtime_id=ST) == holds.Lapse(0, [])
    assert holds.with_lapses([ST]) == []
    assert holds.held_labels(showtime_id=ST, labels=["A3"]) == {"A3": "bob"}


def test_a_seat_held_again_before_its_entry_is_read_does_not_lapse(redis_db):
    assert _hold(["A1"], "alice", ttl=1).ok
    time.sleep(1.1)
    # Its entry is due, but the seat has a new holder (whose hold rewrote the entry) ...
    redis_db.set(holds.seat_key(ST, "A1"), "bob", px=60_000)
    assert holds.lapse(showtime_id=ST).labels == []
    # ... and a key whose TTL has not fired yet (another clock) is left for the next pass.


@pytest.mark.parametrize(
    ("token", "owner"),
    [("u42.abc", 42), (holds.new_token(7), 7), ("alice", None), ("ux.abc", None), ("u5", None)],
)
def test_a_token_names_its_owner(token, owner):
    assert holds.owner_of(token) == owner


def _hold_first(blocks, token, ttl=60):
    return holds.hold_first(showtime_id=ST, blocks=blocks, token=token, ttl_seconds=ttl)


def test_hold_first_holds_the_first_free_block_and_only_it(redis_db):
    assert _hold(["A3"], "alice").ok
    blocks = [holds.Block(["A2", "A3"]), holds.Block(["A3", "A4"]), holds.Block(["A5", "A6"])]
    blocks += [holds.Block(["A7", "A8"])]

    result = _hold_first(blocks, "bob")

    assert result.ok and result.labels == ["A5", "A6"]
    held = holds.held_labels(showtime_id=ST, labels=[f"A{n}" for n in range(1, 9)])
    assert held == {"A3": "alice", "A5": "bob", "A6": "bob"}
    assert redis_db.zrange(holds.index_key(ST), 0, -1) == ["A3", "A5", "A6"]


def test_hold_first_refuses_when_no_block_is_free_naming_the_first_blocks_conflicts(redis_db):
    assert _hold(["A2", "A5"], "alice").ok
    snapshot = _snapshot(redis_db)

    result = _hold_first([holds.Block(["A1", "A2"]), holds.Block(["A4", "A5"])], "bob")

    assert not result.ok and result.conflicts == ["A2"]
    assert _snapshot(redis_db) == snapshot  # a refusal leaves no trace


def test_hold_first_passes_over_a_block_that_would_now_leave_a_seat_alone(redis_db):
    # Ranked when A3-A6 were free: A5-A6 beside free A4, A3 beyond it. Someone took A3 since.
    assert _hold(["A3"], "alice").ok
    guarded = holds.Block(["A5", "A6"], guards=(("A4", "A3"),))

    result = _hold_first([guarded, holds.Block(["A8", "A9"], guards=(("A7", "A6"),))], "bob")

    assert result.ok and result.labels == ["A8", "A9"]
    # The guard passes only while its lone seat is free: taken, nothing is stranded.
    assert _hold(["A4"], "carol").ok
    assert _hold_first([guarded], "dave").labels == ["A5", "A6"]


def test_hold_first_counts_the_tokens_own_seats_as_free(redis_db):
    assert _hold(["A1", "A2"], "bob").ok

    result = _hold_first([holds.Block(["A2", "A3"], guards=(("A4", "A5"),))], "bob")

    assert result.ok and result.labels == ["A2", "A3"]


def test_racing_best_available_threads_each_get_a_block(redis_db):
    """Every thread ranks the same blocks (the same states read): each still gets one."""
    row = [f"A{n}" for n in range(1, 41)]
    blocks = [holds.Block(row[i : i + 2]) for i in range(0, 40, 2)]
    results: dict[str, holds.HoldResult] = {}
    start = threading.Barrier(20)

    def worker(token: str):
        start.wait()
        results[token] = _hold_first(blocks, token)

    threads = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(result.ok for result in results.values()), results
    claimed = [label for result in results.values() for label in result.labels]
    assert len(claimed) == len(set(claimed)) == 40


@pytest.mark.parametrize(
    "blocks",
    [
        [],
        [holds.Block(["A1"])] * (holds.MAX_BLOCKS + 1),
        [holds.Block(["A1"]), holds.Block(["A2", "A3"])],
        [holds.Block(["A1", "A1"])],
    ],
)
def test_hold_first_takes_a_bounded_list_of_equal_blocks(redis_db, blocks):
    with pytest.raises(ValueError):
        _hold_first(blocks, "bob")
