"""A showtime's virtual waiting room in Redis: the only code that touches its keys.

Guarantees:
- One place per member (an account, or an anonymous visitor until they sign in): joining again
  from a reload, a second tab or after a server restart finds the same place.
- Before on-sale everyone who arrives joins a pre-queue in one random order (a random score
  drawn on arrival: how early or fast a connection is does not matter); from on-sale on,
  newcomers queue behind it in arrival order.
- Admission (`admit`, called by the worker) lets in as many as there are free active slots and
  admissions left at the rate, atomically: two workers at once admit no one twice. An admitted
  member holds a slot until its deadline, leaving, or buying (`leave`).
- All keys of a showtime share the hash tag `{st<id>}` (one Redis Cluster slot), like the holds.

Keys of showtime <id>: `wr:{st<id>}:queue` ZSET (member -> score), `wr:{st<id>}:active` ZSET
(member -> deadline ms), `wr:{st<id>}:seq` counter, `wr:{st<id>}:bucket` HASH (the rate's
bucket). Times are epoch ms of the caller's clock.
"""

import secrets
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import redis
from redis.commands.core import Script

from config.redis import get_redis, load_script

LUA_DIR = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class Place:
    """Where a member stands: `ahead` people before them, or admitted until `deadline_ms`."""

    admitted: bool
    ahead: int = 0
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
    return {name: f"wr:{tag}:{name}" for name in ("queue", "active", "seq", "bucket")}


class _Scripts:
    def __init__(self, client: redis.Redis):
        self.join = _load(client, "join")
        self.admit = _load(client, "admit")
        self.leave = _load(client, "leave")
        self.rename = _load(client, "rename")


def _load(client: redis.Redis, name: str) -> Script:
    return load_script(client, LUA_DIR / f"{name}.lua")


@cache
def _scripts_for(client: redis.Redis) -> _Scripts:
    return _Scripts(client)


def now_ms() -> int:
    return int(time.time() * 1000)


def join(*, showtime_id: int, member: str, on_sale_ms: int, now: int | None = None) -> Place:
    keys = _keys(showtime_id)
    client = get_redis()
    shuffle = f"{secrets.randbelow(10**15) / 10**15:.15f}"
    state, value = _scripts_for(client).join(
        keys=[keys["queue"], keys["active"], keys["seq"]],
        args=[member, now or now_ms(), on_sale_ms, shuffle],
    )
    if state == "active":
        return Place(admitted=True, deadline_ms=int(value))
    return Place(admitted=False, ahead=int(value))


def place(*, showtime_id: int, member: str, now: int | None = None) -> Place | None:
    """Where the member stands now, or None if they are not in the room."""
    keys = _keys(showtime_id)
    client = get_redis()
    with client.pipeline(transaction=False) as pipe:
        pipe.zscore(keys["active"], member)
        pipe.zrank(keys["queue"], member)
        deadline, rank = pipe.execute()
    if deadline is not None and deadline > (now or now_ms()):
        return Place(admitted=True, deadline_ms=int(deadline))
    if rank is not None:
        return Place(admitted=False, ahead=rank)
    return None


def admit(*, showtime_id: int, rules: Rules, now: int | None = None) -> tuple[list[str], int]:
    """Admit the next members the rules allow; returns them (in queue order) and their deadline."""
    keys = _keys(showtime_id)
    reply = _scripts_for(get_redis()).admit(
        keys=[keys["queue"], keys["active"], keys["bucket"]],
        args=[
            now or now_ms(),
            rules.on_sale_ms,
            rules.max_active,
            rules.rate_per_minute,
            rules.window_ms,
            1 if rules.paused else 0,
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


def rename(*, showtime_id: int, old: str, new: str) -> None:
    """An anonymous visitor signed in: their place becomes their account's."""
    keys = _keys(showtime_id)
    _scripts_for(get_redis()).rename(keys=[keys["queue"], keys["active"]], args=[old, new])


def sizes(*, showtime_id: int, now: int | None = None) -> tuple[int, int]:
    """People queued, and shoppers admitted whose time has not run out."""
    keys = _keys(showtime_id)
    client = get_redis()
    with client.pipeline(transaction=False) as pipe:
        pipe.zcard(keys["queue"])
        pipe.zcount(keys["active"], (now or now_ms()) + 1, "+inf")
        queued, active = pipe.execute()
    return queued, active
