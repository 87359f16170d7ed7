"""Seat holds in Redis: the only code that reads or writes the hold keys.

Guarantees:
- A hold takes every requested seat of one showtime or none, in one Lua call, and names the
  seats that were in the way. The same token again refreshes the hold.
- Only the token that holds a seat can extend or release it (compare-and-set / delete).
- Every hold expires by itself (TTL), even if every worker is down.
- All keys of a showtime share the hash tag `{st<id>}`, so each script stays in one Redis
  Cluster slot, and every key a script touches is passed in KEYS.

Keys: `hold:{st<id>}:<label>` = token (TTL); `holds:{st<id>}:exp` ZSET label -> expiry (ms);
`holds:{st<id>}:fence` INCR counter; `hold:{st<id>}:meta:<token>` HASH (extensions, fence).
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from pathlib import Path

import redis
from redis.commands.core import Script

from config.redis import get_redis

LUA_DIR = Path(__file__).resolve().parent / "lua"


def seat_key(showtime_id: int, label: str) -> str:
    return f"hold:{{st{showtime_id}}}:{label}"


def index_key(showtime_id: int) -> str:
    return f"holds:{{st{showtime_id}}}:exp"


def fence_key(showtime_id: int) -> str:
    return f"holds:{{st{showtime_id}}}:fence"


def meta_key(showtime_id: int, token: str) -> str:
    return f"hold:{{st{showtime_id}}}:meta:{token}"


@dataclass(frozen=True)
class HoldResult:
    ok: bool
    fence: int | None = None
    expires_at: datetime | None = None
    conflicts: list[str] = field(default_factory=list)


class ExtendStatus(Enum):
    OK = "ok"
    LOST = "lost"
    CAP_REACHED = "cap_reached"


@dataclass(frozen=True)
class ExtendResult:
    status: ExtendStatus
    expires_at: datetime | None = None


def _load(client: redis.Redis, name: str) -> Script:
    script = client.register_script((LUA_DIR / f"{name}.lua").read_text())
    # The Script object reloads itself after NOSCRIPT (SCRIPT FLUSH, failover). Loading up front
    # keeps the first call off that path, which the embedded server answers by disconnecting.
    client.script_load(script.script)
    return script


class _Scripts:
    def __init__(self, client: redis.Redis):
        self.hold = _load(client, "hold")
        self.extend = _load(client, "extend")
        self.release = _load(client, "release")


@cache
def _scripts_for(client: redis.Redis) -> _Scripts:
    return _Scripts(client)


def _client_and_scripts() -> tuple[redis.Redis, _Scripts]:
    client = get_redis()
    return client, _scripts_for(client)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def hold(*, showtime_id: int, labels: list[str], token: str, ttl_seconds: int) -> HoldResult:
    """Hold all `labels` for `token` for `ttl_seconds`, or none; conflicts name the others'."""
    if not labels:
        raise ValueError("hold needs at least one seat")
    _, scripts = _client_and_scripts()
    keys = [fence_key(showtime_id), index_key(showtime_id), meta_key(showtime_id, token)]
    keys += [seat_key(showtime_id, label) for label in labels]
    reply = scripts.hold(keys=keys, args=[token, ttl_seconds * 1000, _now_ms(), *labels])
    if reply[0] == 1:
        return HoldResult(ok=True, fence=int(reply[1]), expires_at=_from_ms(int(reply[2])))
    return HoldResult(ok=False, conflicts=list(reply[1]))


def extend(
    *, showtime_id: int, labels: list[str], token: str, ttl_seconds: int, max_extensions: int
) -> ExtendResult:
    """Renew the hold for another `ttl_seconds` if `token` still owns every seat, under the cap."""
    _, scripts = _client_and_scripts()
    keys = [index_key(showtime_id), meta_key(showtime_id, token)]
    keys += [seat_key(showtime_id, label) for label in labels]
    reply = scripts.extend(
        keys=keys, args=[token, ttl_seconds * 1000, _now_ms(), max_extensions, *labels]
    )
    if reply[0] == 1:
        return ExtendResult(ExtendStatus.OK, _from_ms(int(reply[1])))
    return ExtendResult(ExtendStatus.CAP_REACHED if reply[0] == 2 else ExtendStatus.LOST)


def release(*, showtime_id: int, labels: list[str], token: str) -> list[str]:
    """Release the seats among `labels` that `token` holds; returns exactly those."""
    if not labels:
        return []
    _, scripts = _client_and_scripts()
    keys = [index_key(showtime_id)] + [seat_key(showtime_id, label) for label in labels]
    return list(scripts.release(keys=keys, args=[token, *labels]))


def owns(*, showtime_id: int, labels: list[str], token: str) -> bool:
    """True when `token` holds every one of `labels` right now."""
    if not labels or not token:
        return False
    client, _ = _client_and_scripts()
    holders = client.mget([seat_key(showtime_id, label) for label in labels])
    return all(holder == token for holder in holders)


def held_labels(*, showtime_id: int, labels: list[str]) -> dict[str, str]:
    """The seats among `labels` that are held, with their tokens, in one round trip."""
    if not labels:
        return {}
    client, _ = _client_and_scripts()
    holders = client.mget([seat_key(showtime_id, label) for label in labels])
    return {label: holder for label, holder in zip(labels, holders, strict=True) if holder}


def due(*, showtime_id: int, now: datetime | None = None) -> list[str]:
    """Labels whose hold is past its expiry according to the index (for sweeping)."""
    now_ms = int(now.timestamp() * 1000) if now else _now_ms()
    client, _ = _client_and_scripts()
    return list(client.zrangebyscore(index_key(showtime_id), "-inf", now_ms))
