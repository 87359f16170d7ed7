"""A showtime's virtual waiting room in Redis: the only code that touches its keys.

Guarantees:
- One place per member (an account: waitingroom.services decides who may have one): joining again
  from a reload, a second tab or after a server restart finds the same place.
- Before on-sale everyone who arrives joins a pre-queue in one random order (a random score
  drawn on arrival: how early or fast a connection is does not matter); from on-sale on,
  newcomers queue behind it in the order they arrived (the moment their request reached the
  site's edge, however long it then waited to be served; web nodes keep their clocks in step).
- Admission (`admit`, called by the worker) lets in as many as there are free active slots and
  admissions left at the rate, atomically: two workers at once admit no one twice. An admitted
  member holds a slot until its deadline, leaving, or buying (`leave`).
- A member who had a place before Redis lost the room (a restart with nothing on disk, a
  failover) gets it back on their next visit from the claim they were given (`Claim`: the
  room's epoch and their score or deadline; the caller keeps it signed, in a cookie).
- A member whose pages of the sale are all closed (`presence`) for longer than the grace frees
  their slot at the next admission, or right after being let in if still away `GRACE_MS` later;
  one let in with no page open at all is away from that moment.
- All keys of a showtime share the hash tag `{st<id>}` (one Redis Cluster slot), like the holds.

Keys of showtime <id>, all `wr:{st<id>}:<name>`: `queue` ZSET (member -> score), `active` ZSET
(member -> deadline ms), `bucket` HASH (the rate's bucket), `epoch` (a random id
made when the room's data first appears), `pace` ZSET (the last minute's admissions),
`connections` HASH (member -> open live connections), `away` ZSET (member -> since when).
Times are epoch ms of the caller's clock.
"""

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import redis

from infra.redis import get_redis, lua_scripts

LUA_DIR = Path(__file__).resolve().parent / "lua"


# How long an admitted shopper may have no page of the sale open before their slot is freed.
GRACE_MS = 120_000
PACE_WINDOW_MS = 60_000
PLACES_PER_CALL = 2_000
NAMES = ("queue", "active", "bucket", "epoch", "pace", "connections", "away")


@dataclass(frozen=True)
class Place:
    """Where a member stands: `ahead` people before them, or admitted until `deadline_ms`."""

    admitted: bool
    ahead: int = 0
    deadline_ms: int = 0


@dataclass(frozen=True)
class Claim:
    """What a member is told about their place, to prove it should Redis lose the room."""

    epoch: str = ""
    score: str = ""
    deadline_ms: int = 0


@dataclass(frozen=True)
class Rules:
    on_sale_ms: int
    max_active: int
    rate_per_minute: int
    window_ms: int
    paused: bool = False


def _keys(showtime_id: int) -> dict[str, str]:
    tag = f"{{st{showtime_id}}}"
    return {name: f"wr:{tag}:{name}" for name in NAMES}


def _scripts_for(client: redis.Redis) -> SimpleNamespace:
    return lua_scripts(client, LUA_DIR)


def now_ms() -> int:
    return int(time.time() * 1000)


def join(
    *,
    showtime_id: int,
    member: str,
    on_sale_ms: int,
    claim: Claim | None = None,
    now: float | None = None,
    arrived: float | None = None,
) -> tuple[Place, Claim]:
    """Join, find one's place again, or get it back with `claim` if Redis lost the room; returns
    the place and the claim to keep for next time. `arrived`: when the member's request reached
    the site (epoch ms; a newcomer queues by it), `now` by default."""
    keys = _keys(showtime_id)
    client = get_redis()
    claim = claim or Claim()
    now = now or now_ms()
    shuffle = f"{secrets.randbelow(10**15) / 10**15:.15f}"
    state, value, epoch, score = _scripts_for(client).join(
        keys=[keys["queue"], keys["active"], keys["epoch"]],
        args=[
            member,
            f"{arrived or now:.3f}",
            on_sale_ms,
            shuffle,
            secrets.token_hex(8),
            claim.epoch,
            claim.score,
            claim.deadline_ms,
            f"{now:.3f}",
        ],
    )
    if state == "active":
        return Place(admitted=True, deadline_ms=int(value)), Claim(epoch, "", int(value))
    return Place(admitted=False, ahead=int(value)), Claim(epoch, score, 0)


def place(*, showtime_id: int, member: str, now: int | None = None) -> Place | None:
    """Where the member stands now, or None if they are not in the room."""
    return places(showtime_id=showtime_id, members=[member], now=now)[0]


def admit(*, showtime_id: int, rules: Rules, now: int | None = None) -> tuple[list[str], int]:
    """Admit the next members the rules allow; returns them (in queue order) and their deadline."""
    keys = _keys(showtime_id)
    reply = _scripts_for(get_redis()).admit(
        keys=[keys[name] for name in ("queue", "active", "bucket", "pace", "away", "connections")],
        args=[
            now or now_ms(),
            rules.on_sale_ms,
            rules.max_active,
            rules.rate_per_minute,
            rules.window_ms,
            1 if rules.paused else 0,
            GRACE_MS,
        ],
    )
    if not reply:
        return [], 0
    return list(reply[:-1]), int(reply[-1])


def leave(*, showtime_id: int, member: str) -> bool:
    keys = _keys(showtime_id)
    return bool(
        _scripts_for(get_redis()).leave(keys=[keys["queue"], keys["active"]], args=[member])
    )


def sizes(*, showtime_id: int, now: int | None = None) -> tuple[int, int]:
    """People queued, and shoppers admitted whose time has not run out."""
    keys = _keys(showtime_id)
    client = get_redis()
    with client.pipeline(transaction=False) as pipe:
        pipe.zcard(keys["queue"])
        pipe.zcount(keys["active"], (now or now_ms()) + 1, "+inf")
        queued, active = pipe.execute()
    return queued, active


def presence(*, showtime_id: int, member: str, opened: bool, now: int | None = None) -> int:
    """A live page of the sale opened or closed; returns the member's open ones."""
    keys = _keys(showtime_id)
    return _scripts_for(get_redis()).presence(
        keys=[keys["connections"], keys["away"]],
        args=[member, 1 if opened else -1, now or now_ms()],
    )


def pace(*, showtime_id: int, on_sale_ms: int, now: int | None = None) -> float | None:
    """Members let in per minute, measured over the last minute (or since on-sale, if later);
    None before anyone has been let in that long."""
    now = now or now_ms()
    since = max(now - PACE_WINDOW_MS, on_sale_ms)
    entries = get_redis().zrangebyscore(_keys(showtime_id)["pace"], since, "+inf")
    admitted = sum(int(entry.split(":", 1)[0]) for entry in entries)
    if not admitted or now - since < 1000:
        return None
    return admitted * 60_000 / (now - since)


def turnover(*, showtime_id: int, on_sale_ms: int, now: int | None = None) -> float | None:
    """Members let in per minute as places come free, over the last minute (or since on-sale,
    if later): what a shopper's wait is estimated from. None until two admissions a second
    apart.

    The window's first admissions start the clock and are not counted: after an on-sale (or a
    quiet spell) they fill every empty place at once, a burst the pace after it never matches.
    Counted, they promised "within a minute" to shoppers who then waited several."""
    now = now or now_ms()
    since = max(now - PACE_WINDOW_MS, on_sale_ms)
    entries = get_redis().zrangebyscore(_keys(showtime_id)["pace"], since, "+inf", withscores=True)
    if len(entries) < 2:
        return None
    started = entries[0][1]
    admitted = sum(int(entry.split(":", 1)[0]) for entry, _ in entries[1:])
    if not admitted or now - started < 1000:
        return None
    return admitted * 60_000 / (now - started)


def places(*, showtime_id: int, members: list[str], now: int | None = None) -> list[Place | None]:
    """Where each of `members` stands, in one round trip per `PLACES_PER_CALL` (the live pages'
    update: a script keeps Redis from other clients while it runs, so each is bounded)."""
    keys = _keys(showtime_id)
    script = _scripts_for(get_redis()).places
    replies = []
    for start in range(0, len(members), PLACES_PER_CALL):
        chunk = members[start : start + PLACES_PER_CALL]
        replies += script(keys=[keys["active"], keys["queue"]], args=chunk)
    now = now or now_ms()
    found: list[Place | None] = []
    for deadline, rank in zip(replies[::2], replies[1::2], strict=True):
        if deadline > now:
            found.append(Place(admitted=True, deadline_ms=deadline))
        else:
            found.append(Place(admitted=False, ahead=rank) if rank >= 0 else None)
    return found


def keep_until(*, showtime_id: int, until_ms: int) -> None:
    """Let the room's keys go by themselves at `until_ms` (the worker sets it to a while after the
    showtime starts, so nothing of a past sale stays in Redis)."""
    keys = _keys(showtime_id)
    with get_redis().pipeline(transaction=False) as pipe:
        for key in keys.values():
            pipe.pexpireat(key, until_ms)
        pipe.execute()
