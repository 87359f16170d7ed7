"""Seat holds in Redis: the only code that reads or writes the hold keys.

Guarantees:
- A hold takes every requested seat of one showtime or none, in one Lua call, and names exactly
  the seats held by other tokens. Holding again with the same token refreshes the TTL.
- `hold_first` takes, in that same one call, the first of some ranked blocks whose seats are all
  free and that leaves no seat alone beside one taken since the ranking: buyers racing for the
  best seats each get a block of their own, not a refusal, while the blocks last.
- No hold of an owner (one account) lives past its deadline: the owner's first hold on the
  showtime plus `ttl x (1 + max_extensions)`, whatever is posted: a refresh, a new selection, a
  release and a new hold all keep that deadline, and for one more TTL after it the owner may not
  hold on the showtime again, so the seats go to someone else. The scripts enforce it.
- Every successful hold gets a fencing number, strictly greater than any before it for the
  showtime, also after Redis lost the counter (it starts again above the caller's floor).
- Only the token that holds a seat can extend or release it (compare-and-set, compare-and-delete),
  and a hold is extended at most `max_extensions` times.
- Every hold expires by itself (TTL), even if every worker is down.
- A seat sold with a hold keeps a sold mark in place of the hold for SOLD_MARK_SECONDS, so a
  hold placed after the sale conflicts even when the caller read the sold seats before it
  (`sell`); the tickets' UNIQUE constraint stays the final word.
- All keys of a showtime share the hash tag `{st<id>}`, so every multi-key call stays in one
  Redis Cluster slot; every key a script touches is passed in KEYS.
- Every change of a seat's state here (hold, release, sell, lapse) numbers itself in the same
  script: the showtime's seat-state version (below) moves with it.

Keys of showtime <id>:
- `hold:{st<id>}:<label>` STRING = token, PX ttl. The seat is HELD while it exists; after a
  sale it is `sold:<token>` for SOLD_MARK_SECONDS (reported as not held: the tickets say sold).
- `hold:{st<id>}:meta:<token>` HASH (extensions, fence), living until the owner's deadline, so
  the extension cap survives a refresh or a release and a new hold.
- `hold:{st<id>}:window:<owner>` STRING = the owner's deadline (epoch ms), set by its first hold
  and living until the deadline plus one TTL (the cooldown); `close_window` ends it once the
  owner has bought.
- `holds:{st<id>}:exp` ZSET, member = seat label, score = expiry in epoch ms. One entry per seat,
  overwritten by each new holder, so it always describes the seat's latest hold and never grows
  past the auditorium's size; the seat key says who holds it. It lives INDEX_GRACE_SECONDS past
  its newest hold, then goes by itself.
- `holds:{st<id>}:fence` INCR counter, without a TTL: a fencing number must never repeat.
- `holds:{st<id>}:version` the seat-state version: see "Versions".

Versions: each change of the showtime's seats, and each telling of one (`observe(number=True)`),
takes the next version, `max(version + 1, Redis's clock in microseconds)`, in the same script,
so what a reading shows is at least as new as its version, and the seat map's live messages can
be put in order whoever sends them. It never repeats and never goes back, even when Redis lost
the key (a restart, a failover that lost the last writes): the clock is its floor, as the
database's highest fence is the fence's. (A database floor would need a write per hold; the
clock holds as long as a loss takes longer than the versions run ahead of it, at a microsecond
per change beyond a million changes a second.) It goes a day after the last change
(VERSION_MEMORY_SECONDS), and starts again above the clock.

Times are the caller's clock (epoch ms passed to the scripts), the same clock the booking's
`expires_at` and the sweeper use; the key TTLs are relative, so clock skew never shortens a hold.
Versions alone take Redis's clock: every web node numbers changes on the same one.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import SimpleNamespace

import redis
from django.conf import settings

from infra.redis import get_redis, lua_scripts

LUA_DIR = Path(__file__).resolve().parent / "lua"

# Expired index entries stay readable this long after the newest hold of the showtime ends.
INDEX_GRACE_SECONDS = 3600
# How long a sold seat's mark outlives the sale: far longer than any request takes between
# reading the sold seats and holding.
SOLD_MARK_SECONDS = 600
SOLD = "sold:"
# How long a showtime's seat-state version outlives its last change.
VERSION_MEMORY_SECONDS = 24 * 3600


def owner_tag(user_id: int) -> str:
    """How every hold token of a user begins, so a seat map tells a viewer's own seats from the
    tokens alone, without asking the database whose booking holds them."""
    return f"u{user_id}."


def new_token(user_id: int) -> str:
    return f"{owner_tag(user_id)}{secrets.token_urlsafe(16)}"


def seat_key(showtime_id: int, label: str) -> str:
    return f"hold:{{st{showtime_id}}}:{label}"


def meta_key(showtime_id: int, token: str) -> str:
    return f"hold:{{st{showtime_id}}}:meta:{token}"


def index_key(showtime_id: int) -> str:
    return f"holds:{{st{showtime_id}}}:exp"


def fence_key(showtime_id: int) -> str:
    return f"holds:{{st{showtime_id}}}:fence"


def window_key(showtime_id: int, owner: str) -> str:
    return f"hold:{{st{showtime_id}}}:window:{owner}"


def version_key(showtime_id: int) -> str:
    return f"holds:{{st{showtime_id}}}:version"


def owner_of(token: str) -> int | None:
    """The user whose hold token this is (`owner_tag`), or None for another kind of token."""
    tag, dot, _ = token.partition(".")
    return int(tag[1:]) if dot and tag[:1] == "u" and tag[1:].isdecimal() else None


# The most blocks one `hold_first` call weighs: the work of one request stays bounded.
MAX_BLOCKS = 24


@dataclass(frozen=True, slots=True)
class Block:
    """Seats to hold together, and the guards that pass over them: (lone, beyond), a seat
    beside the block and the next one along, where holding the block while `lone` is free and
    `beyond` is not would leave `lone` alone (bookings' lone-seat rule, kept in the race)."""

    labels: list[str]
    guards: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HoldResult:
    ok: bool
    labels: list[str] = field(default_factory=list)  # the seats held
    fence: int | None = None
    expires_at: datetime | None = None
    conflicts: list[str] = field(default_factory=list)
    # Set when the owner's deadline has passed: seconds until the owner may hold again.
    retry_after: float | None = None


class ExtendStatus(Enum):
    OK = "ok"
    LOST = "lost"
    CAP_REACHED = "cap_reached"


@dataclass(frozen=True, slots=True)
class ExtendResult:
    status: ExtendStatus
    expires_at: datetime | None = None
    lost: list[str] = field(default_factory=list)


def _scripts_for(client: redis.Redis) -> SimpleNamespace:
    return lua_scripts(client, LUA_DIR)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _checked(*, labels: list[str], token: str, ttl_seconds: int) -> list[str]:
    if not labels:
        raise ValueError("a hold needs at least one seat")
    if not token:
        raise ValueError("a hold needs a token")
    if ttl_seconds <= 0:
        raise ValueError("a hold needs a positive TTL")
    # A label twice would be reported twice as a conflict and written twice to the index.
    return list(dict.fromkeys(labels))


def _max_extensions(max_extensions: int | None) -> int:
    return getattr(settings, "HOLD_MAX_EXTENSIONS", 2) if max_extensions is None else max_extensions


def hold(
    *,
    showtime_id: int,
    labels: list[str],
    token: str,
    ttl_seconds: int,
    owner: str | None = None,
    max_extensions: int | None = None,
    fence_floor: Callable[[], int] | None = None,
) -> HoldResult:
    """Hold every seat for `token` for `ttl_seconds` (never past the owner's deadline), or none;
    on failure name the others' seats, or say when the owner may hold again.

    `owner` (default: the token) is whose deadline applies; `fence_floor` gives the highest fence
    the caller ever stored for the showtime, asked only when Redis has lost the counter.
    """
    labels = _checked(labels=labels, token=token, ttl_seconds=ttl_seconds)
    return hold_first(
        showtime_id=showtime_id,
        blocks=[Block(labels)],
        token=token,
        ttl_seconds=ttl_seconds,
        owner=owner,
        max_extensions=max_extensions,
        fence_floor=fence_floor,
    )


def hold_first(
    *,
    showtime_id: int,
    blocks: list[Block],
    token: str,
    ttl_seconds: int,
    owner: str | None = None,
    max_extensions: int | None = None,
    fence_floor: Callable[[], int] | None = None,
) -> HoldResult:
    """Hold the first of `blocks` (as many seats each, best first, at most MAX_BLOCKS) that is
    free and passes its guards, as `hold` does one selection; when none is, name the others'
    seats in the first block."""
    if not blocks or len(blocks) > MAX_BLOCKS:
        raise ValueError(f"a hold weighs 1 to {MAX_BLOCKS} blocks")
    if len({len(block.labels) for block in blocks}) > 1:
        raise ValueError("the blocks of a hold have as many seats each")
    for block in blocks:
        if _checked(labels=block.labels, token=token, ttl_seconds=ttl_seconds) != block.labels:
            raise ValueError("a seat twice in one block")
    # Each seat's key once, however many blocks and guards name it.
    seats = list(
        dict.fromkeys(
            label
            for block in blocks
            for label in (*block.labels, *(seat for guard in block.guards for seat in guard))
        )
    )
    position = {label: i for i, label in enumerate(seats, 1)}
    described: list[int] = []
    for block in blocks:
        guards = [*block.guards, ("", ""), ("", "")][:2]
        described += [position[label] for label in block.labels]
        described += [position.get(label, 0) for guard in guards for label in guard]
    client = get_redis()
    ttl_ms = ttl_seconds * 1000
    life_ms = ttl_ms * (1 + _max_extensions(max_extensions))
    keys = [
        fence_key(showtime_id),
        index_key(showtime_id),
        meta_key(showtime_id, token),
        window_key(showtime_id, owner or token),
        version_key(showtime_id),
        *(seat_key(showtime_id, label) for label in seats),
    ]
    args = [token, ttl_ms, _now_ms(), INDEX_GRACE_SECONDS * 1000, life_ms, ttl_ms, "", _memory()]
    tail = [len(blocks[0].labels), *seats, *described]
    reply = _scripts_for(client).hold(keys=keys, args=[*args, *tail])
    if reply[0] == 3:
        args[6] = fence_floor() if fence_floor else 0
        reply = _scripts_for(client).hold(keys=keys, args=[*args, *tail])
    if reply[0] == 1:
        return HoldResult(
            ok=True,
            labels=list(blocks[int(reply[3]) - 1].labels),
            fence=int(reply[1]),
            expires_at=_from_ms(int(reply[2])),
        )
    if reply[0] == 2:
        return HoldResult(ok=False, retry_after=int(reply[1]) / 1000)
    return HoldResult(ok=False, conflicts=list(reply[1]))


def extend(
    *,
    showtime_id: int,
    labels: list[str],
    token: str,
    ttl_seconds: int,
    max_extensions: int | None = None,
    owner: str | None = None,
) -> ExtendResult:
    """Renew the hold for `ttl_seconds` only while `token` owns every seat, is under the cap and
    short of the owner's deadline (which it never passes)."""
    labels = _checked(labels=labels, token=token, ttl_seconds=ttl_seconds)
    max_extensions = _max_extensions(max_extensions)
    client = get_redis()
    keys = [
        index_key(showtime_id),
        meta_key(showtime_id, token),
        window_key(showtime_id, owner or token),
        *(seat_key(showtime_id, label) for label in labels),
    ]
    args = [token, ttl_seconds * 1000, _now_ms(), INDEX_GRACE_SECONDS * 1000, max_extensions]
    reply = _scripts_for(client).extend(keys=keys, args=[*args, *labels])
    if reply[0] == 1:
        return ExtendResult(ExtendStatus.OK, expires_at=_from_ms(int(reply[1])))
    if reply[0] == 2:
        return ExtendResult(ExtendStatus.CAP_REACHED)
    return ExtendResult(ExtendStatus.LOST, lost=list(reply[1]))


def release(*, showtime_id: int, labels: list[str], token: str) -> list[str]:
    """Free exactly the seats among `labels` that `token` holds (or sold), and return them."""
    return _release(showtime_id=showtime_id, labels=labels, token=token, sold_ms=0)


def sell(*, showtime_id: int, labels: list[str], token: str) -> list[str]:
    """End `token`'s hold on seats it has just sold (call after the tickets commit), leaving
    a sold mark that any later hold conflicts with; returns the seats marked."""
    return _release(
        showtime_id=showtime_id, labels=labels, token=token, sold_ms=SOLD_MARK_SECONDS * 1000
    )


def _release(*, showtime_id: int, labels: list[str], token: str, sold_ms: int) -> list[str]:
    if not labels or not token:
        return []
    labels = list(dict.fromkeys(labels))
    client = get_redis()
    keys = [index_key(showtime_id), version_key(showtime_id)]
    keys += [seat_key(showtime_id, label) for label in labels]
    args = [token, sold_ms, _memory(), *labels]
    return list(_scripts_for(client).release(keys=keys, args=args))


def close_window(*, showtime_id: int, owner: str) -> None:
    """Forget the owner's deadline (once they have bought), so they may hold again at once."""
    get_redis().delete(window_key(showtime_id, owner))


def owns(*, showtime_id: int, labels: list[str], token: str) -> bool:
    """True only when `token` holds every one of `labels` right now."""
    if not labels or not token:
        return False
    holders = get_redis().mget([seat_key(showtime_id, label) for label in labels])
    return all(holder == token for holder in holders)


def held_labels(*, showtime_id: int, labels: list[str]) -> dict[str, str]:
    """The seats among `labels` that are held, with their tokens, in one round trip."""
    if not labels:
        return {}
    # One MGET: a single slot thanks to the hash tag, so it is legal on a cluster too.
    holders = get_redis().mget([seat_key(showtime_id, label) for label in labels])
    return {
        label: holder
        for label, holder in zip(labels, holders, strict=True)
        if holder and not holder.startswith(SOLD)
    }


def held_among(wanted: dict[int, list[str]]) -> dict[int, set[str]]:
    """The seats held among each showtime's `wanted` labels, in one round trip (a pipeline of
    one MGET per showtime, each in one slot; a cluster splits it by node). The catalogue's
    listings ask through settings.SEAT_HOLDS, as cinema may not import seats."""
    wanted = {showtime_id: labels for showtime_id, labels in wanted.items() if labels}
    if not wanted:
        return {}
    pipe = get_redis().pipeline(transaction=False)
    for showtime_id, labels in wanted.items():
        pipe.mget([seat_key(showtime_id, label) for label in labels])
    return {
        showtime_id: {
            label
            for label, holder in zip(labels, holders, strict=True)
            if holder and not holder.startswith(SOLD)
        }
        for (showtime_id, labels), holders in zip(wanted.items(), pipe.execute(), strict=True)
    }


def expired(*, showtime_id: int, now: datetime | None = None) -> list[str]:
    """Seats whose latest hold was due to end by `now` (default: now), earliest first."""
    now_ms = int(now.timestamp() * 1000) if now else _now_ms()
    return list(get_redis().zrangebyscore(index_key(showtime_id), "-inf", now_ms))


def with_lapses(showtime_ids: list[int]) -> list[int]:
    """The showtimes among these with a hold due to have ended, in one round trip (a pipeline
    of one count per showtime; a cluster splits it by node)."""
    if not showtime_ids:
        return []
    pipe = get_redis().pipeline(transaction=False)
    for showtime_id in showtime_ids:
        pipe.zcount(index_key(showtime_id), "-inf", _now_ms())
    counts = pipe.execute()
    return [showtime_id for showtime_id, due in zip(showtime_ids, counts, strict=True) if due]


@dataclass(frozen=True, slots=True)
class Lapse:
    version: int
    labels: list[str]


def lapse(*, showtime_id: int) -> Lapse:
    """Drop from the expiry index the seats whose latest hold has ended by itself (its key
    expired: no release ever came), numbering the change; returns them (none: version 0)."""
    labels = expired(showtime_id=showtime_id)
    if not labels:
        return Lapse(0, [])
    keys = [index_key(showtime_id), version_key(showtime_id)]
    keys += [seat_key(showtime_id, label) for label in labels]
    version, lapsed = _scripts_for(get_redis()).lapse(
        keys=keys, args=[_now_ms(), _memory(), *labels]
    )
    return Lapse(int(version), list(lapsed))


@dataclass(frozen=True, slots=True)
class Observed:
    """Seats' holders as read at `version`: a token per held seat (sold marks left out)."""

    version: int
    held: dict[str, str]


def observe(*, showtime_id: int, labels: list[str], number: bool) -> Observed:
    """The holders of `labels` and the seat-state version, read in one step; `number` takes a
    new version first (a change is being told), so the reading is at least as new as it. A
    showtime without a version yet gets one."""
    keys = [version_key(showtime_id), *(seat_key(showtime_id, label) for label in labels)]
    version, *holders = _scripts_for(get_redis()).observe(
        keys=keys, args=["1" if number else "0", _memory()]
    )
    return Observed(
        int(version),
        {
            label: holder
            for label, holder in zip(labels, holders, strict=True)
            if holder and not holder.startswith(SOLD)
        },
    )


def version(*, showtime_id: int) -> int | None:
    """The showtime's seat-state version now (None: never numbered, or lost)."""
    value = get_redis().get(version_key(showtime_id))
    return int(value) if value else None


def hold_ends_ms(*, showtime_id: int, labels: list[str]) -> int:
    """When the first of these seats' latest holds ends (epoch ms, the callers' clock), in one
    round trip; 0 if one of them is not in the index."""
    ends = get_redis().zmscore(index_key(showtime_id), labels)
    return 0 if any(end is None for end in ends) else int(min(ends))


def _memory() -> int:
    return VERSION_MEMORY_SECONDS * 1000


def live(*, showtime_id: int, labels: list[str]) -> dict[str, tuple[str, datetime | None]]:
    """Every held seat among `labels`: {label: (token, expires_at)}, in one round trip."""
    if not labels:
        return {}
    pipe = get_redis().pipeline(transaction=False)
    for label in labels:
        # GETs, not MGET: a Redis Cluster's pipelines refuse MGET.
        pipe.get(seat_key(showtime_id, label))
    pipe.zmscore(index_key(showtime_id), labels)
    *holders, expiries = pipe.execute()
    return {
        label: (holder, _from_ms(int(expiry)) if expiry else None)
        for label, holder, expiry in zip(labels, holders, expiries, strict=True)
        if holder and not holder.startswith(SOLD)
    }
