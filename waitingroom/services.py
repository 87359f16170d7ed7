"""Who may shop a showtime with its waiting room on: places, admission tokens, the worker's pass.

A place belongs to a person: one per account whose email address is confirmed ("u<id>": a second
tab or device shares it). Anyone else sees the queue and is asked to sign in (or confirm their
address) to take a place; a place is taken on the first visit that may have one, so signing in
before the sale opens costs nothing (everyone who came before is put in one random order).

Every visit to the queue leaves a signed cookie (Django's signing, SECRET_KEY) bound to the
member and the showtime: their claim to their place, which gets it back should Redis lose the
room. Once admitted it is their admission token, expiring with their window; a token is honoured
only while the member still holds their active slot, so leaving or buying ends it.
"""

import math
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from accounts.services import has_verified_email
from audit.services import Kind, record
from cinema.models import Showtime
from infra.domain import DomainError
from infra.websockets import send_to_group
from waitingroom import queue
from waitingroom.models import WaitingRoom

SALT = "waitingroom.admission"


def cookie_name(showtime_id: int) -> str:
    return f"wr{showtime_id}"


class NoPlace(Enum):
    """Why a visitor may not take a place (the page says what to do)."""

    SIGN_IN = "sign in"
    CONFIRM_EMAIL = "confirm email"


def member_for(user) -> str | NoPlace:
    """The user's place in any queue, or why they may not have one."""
    if not user.is_authenticated:
        return NoPlace.SIGN_IN
    if settings.HOLD_REQUIRES_VERIFIED_EMAIL and not has_verified_email(user=user):
        return NoPlace.CONFIRM_EMAIL
    return f"u{user.pk}"


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def is_on(showtime: Showtime) -> bool:
    """Whether the showtime sells through its waiting room."""
    return WaitingRoom.of(showtime).on


def rules_for(showtime: Showtime) -> queue.Rules:
    room = WaitingRoom.of(showtime)
    return queue.Rules(
        on_sale_ms=_ms(showtime.on_sale_at),
        max_active=room.max_active,
        rate_per_minute=room.admit_per_minute,
        window_ms=room.window_minutes * 60_000,
        paused=room.paused or not showtime.on_sale,
    )


@dataclass(frozen=True)
class Entry:
    place: queue.Place
    member: str
    cookie: str  # the member's signed claim: their admission token once admitted


def enter(*, showtime: Showtime, member: str, token: str, arrived_ms: float | None) -> Entry:
    """Join the showtime's queue as `member` (`member_for`) or find its place; `token` is the
    member's signed claim from an earlier visit (a place Redis lost comes back from it),
    `arrived_ms` when their request reached the site's edge."""
    claims = _claims(token, showtime, member) or {}
    place, claim = queue.join(
        showtime_id=showtime.pk,
        member=member,
        on_sale_ms=_ms(showtime.on_sale_at),
        arrived=arrived_ms,
        claim=queue.Claim(
            epoch=str(claims.get("e", "")),
            score=str(claims.get("q", "")),
            deadline_ms=int(claims.get("d", 0)),
        ),
    )
    cookie = signing.dumps(
        {"s": showtime.pk, "m": member, "e": claim.epoch, "q": claim.score, "d": claim.deadline_ms},
        salt=SALT,
    )
    return Entry(place=place, member=member, cookie=cookie)


def _claims(token: str, showtime: Showtime, member: str) -> dict | None:
    """The signed claims of `token` for this showtime and member, or None."""
    try:
        claims = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(claims, dict) or claims.get("s") != showtime.pk:
        return None
    if claims.get("m") != member or not isinstance(claims.get("d", 0), int):
        return None
    return claims


def admitted(*, showtime: Showtime, user, token: str) -> bool:
    """Whether the user may shop the showtime now: the room is off, or `token` (their admission
    token) is valid for this showtime and account and its slot is still held."""
    if not is_on(showtime):
        return True
    member = member_for(user)
    if isinstance(member, NoPlace):
        return False
    claims = _claims(token, showtime, member)
    now = queue.now_ms()
    if claims is None or claims.get("d", 0) <= now:
        return False
    place = queue.place(showtime_id=showtime.pk, member=member, now=now)
    return place is not None and place.admitted


def pace(showtime: Showtime) -> float | None:
    """People the room let in a minute, over the last minute (`queue.pace`)."""
    return queue.pace(showtime_id=showtime.pk, on_sale_ms=_ms(showtime.on_sale_at))


def turnover(showtime: Showtime) -> float | None:
    """People let in a minute as places came free, over the last minute (`queue.turnover`)."""
    return queue.turnover(showtime_id=showtime.pk, on_sale_ms=_ms(showtime.on_sale_at))


def wait_minutes(showtime: Showtime, place: queue.Place) -> int | None:
    """About how long until the member's turn, from the pace places came free over the last
    minute; None while there is no pace to go by."""
    return estimate(place.ahead, turnover(showtime))


def shown_ahead(ahead: int) -> tuple[int, bool]:
    """The people ahead as the page says it, and whether that is rounded: exactly below 100,
    then to the ten, from 1,000 to the hundred. Far back, the exact figure changes with every
    person let in but tells no more, and each change is a message to every page."""
    for up_to, step in ((100, 1), (1000, 10)):
        if ahead < up_to:
            return ahead - ahead % step, step > 1
    return ahead - ahead % 100, True


def estimate(ahead: int, per_minute: float | None) -> int | None:
    if not per_minute:
        return None
    return max(1, math.ceil((ahead + 1) / per_minute))


def finished(*, showtime: Showtime, user_id: int) -> None:
    """The account bought (or gave up): its active slot goes to the next in line."""
    if is_on(showtime):
        queue.leave(showtime_id=showtime.pk, member=f"u{user_id}")


def group_name(showtime_id: int) -> str:
    return f"queue.{showtime_id}"


# A room's keys in Redis outlive its showtime's start by this much, then go by themselves.
KEEP_AFTER = timedelta(hours=6)
# A room whose queue did not move is told anyway this often (its pace, a pause, the on-sale).
TELL_EVERY_SECONDS = 5.0
_told: dict[int, float] = {}


def open_rooms():
    """The showtimes whose waiting room is on and whose showtime has not started: the worker's
    and the metrics' rooms."""
    return Showtime.objects.filter(room__on=True, starts_at__gt=timezone.now()).select_related(
        "room"
    )


def admit_pass() -> int:
    """One pass of the worker: let in whoever each open room may admit now (audited), then tell
    the queue pages of a room that moved (or was last told a while ago) to look again."""
    total = 0
    for showtime in open_rooms():
        at = queue.now_ms()
        members, deadline = queue.admit(showtime_id=showtime.pk, rules=rules_for(showtime), now=at)
        if members:
            total += len(members)
            record(
                Kind.WAITING_ROOM_ADMITTED,
                showtime_id=showtime.pk,
                detail={"admitted": len(members), "members": members, "until": deadline},
            )
        if members or at / 1000 - _told.get(showtime.pk, 0) >= TELL_EVERY_SECONDS:
            _told[showtime.pk] = at / 1000
            queue.keep_until(showtime_id=showtime.pk, until_ms=_ms(showtime.starts_at + KEEP_AFTER))
            moved = {"type": "queue.moved", "at": at, "paused": showtime.room.paused}
            send_to_group(group_name(showtime.pk), moved)
    return total


# What staff tell a room (the staff page's buttons, the command's actions) -> what it sets.
SWITCHES = {
    "on": {"on": True},
    "off": {"on": False},
    "pause": {"paused": True},
    "resume": {"paused": False},
}
# The room's numbers by the names staff give them (the page's fields, the command's options)
# -> (the WaitingRoom field, what it is called). Each is a whole number, 1 or more.
NUMBERS = {
    "max_active": ("max_active", "shoppers at once"),
    "rate": ("admit_per_minute", "shoppers let in a minute"),
    "window": ("window_minutes", "minutes to hold seats"),
}
_SWITCH_FIELDS = {field for sets in SWITCHES.values() for field in sets}
_NUMBER_FIELDS = dict(NUMBERS.values())


class RoomError(DomainError):
    """A change to a room that cannot be made; the message says why."""

    code = "invalid_room_change"


def change_room(*, showtime: Showtime, action: str, changes: dict, by: str) -> WaitingRoom:
    """Turn the room on or off, pause or resume it, or change its numbers; audited. Returns the
    room as it now is."""
    for field, value in changes.items():
        if field in _SWITCH_FIELDS:
            if not isinstance(value, bool):
                raise RoomError(f"{field} is on or off.")
        elif field in _NUMBER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                name = _NUMBER_FIELDS[field]
                raise RoomError(f"The number of {name} must be a whole number, 1 or more.")
        else:
            raise RoomError(f"{field} is not a setting of the waiting room.")
    if not changes:
        return WaitingRoom.of(showtime)
    with transaction.atomic():
        room, _ = WaitingRoom.objects.select_for_update().get_or_create(showtime=showtime)
        for field, value in changes.items():
            setattr(room, field, value)
        room.save(update_fields=list(changes))
        record(
            Kind.WAITING_ROOM_CHANGED,
            showtime_id=showtime.pk,
            detail={"action": action, **changes, "by": by},
        )
    showtime.room = room
    return room


def open_for_high_demand(*, showtime: Showtime) -> None:
    """A new showtime of a high-demand film starts with its waiting room on."""
    if showtime.movie.high_demand:
        WaitingRoom.objects.create(showtime=showtime, on=True)
