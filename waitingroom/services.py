"""Who may shop a showtime with its waiting room on: places, admission tokens, the worker's pass.

A visitor's place belongs to their account once signed in ("u<id>": a second tab or device
shares it); before that to a random id kept in their session ("a<hex>"), which becomes the
account's when they sign in, so signing in never costs a place. Admission gives a signed token
(Django's signing, SECRET_KEY) bound to the member and the showtime and expiring with the
member's window; a token is honoured only while the member still holds their active slot, so
leaving or buying ends it.
"""

import secrets
from dataclasses import dataclass

from django.core import signing
from django.utils import timezone

from audit.services import Kind, record
from cinema.models import Showtime
from waitingroom import queue

SALT = "waitingroom.admission"
VISITOR = "waiting_room_visitor"


def cookie_name(showtime_id: int) -> str:
    return f"wr{showtime_id}"


def member_for(request) -> str:
    """The request's place in any queue: its account's, or its anonymous session's."""
    if request.user.is_authenticated:
        return f"u{request.user.pk}"
    if VISITOR not in request.session:
        request.session[VISITOR] = secrets.token_hex(8)
    return f"a{request.session[VISITOR]}"


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def rules_for(showtime: Showtime) -> queue.Rules:
    return queue.Rules(
        on_sale_ms=_ms(showtime.on_sale_at),
        max_active=showtime.room_max_active,
        rate_per_minute=showtime.room_admit_per_minute,
        window_ms=showtime.room_window_minutes * 60_000,
        paused=showtime.room_paused or not showtime.on_sale,
    )


@dataclass(frozen=True)
class Entry:
    place: queue.Place
    member: str
    token: str = ""  # set once admitted


def enter(request, showtime: Showtime) -> Entry:
    """Join the showtime's queue or find one's place (an anonymous place becomes the account's
    on the first visit after signing in)."""
    if request.user.is_authenticated and VISITOR in request.session:
        queue.rename(
            showtime_id=showtime.pk,
            old=f"a{request.session.pop(VISITOR)}",
            new=f"u{request.user.pk}",
        )
    member = member_for(request)
    place = queue.join(showtime_id=showtime.pk, member=member, on_sale_ms=_ms(showtime.on_sale_at))
    token = admission_token(showtime, member, place.deadline_ms) if place.admitted else ""
    return Entry(place=place, member=member, token=token)


def admission_token(showtime: Showtime, member: str, deadline_ms: int) -> str:
    return signing.dumps({"s": showtime.pk, "m": member, "d": deadline_ms}, salt=SALT)


def admitted(request, showtime: Showtime) -> bool:
    """Whether the request may shop the showtime now: the room is off, or it carries a valid
    token for this showtime and account whose slot is still held."""
    if not showtime.waiting_room:
        return True
    token = request.COOKIES.get(cookie_name(showtime.pk), "")
    try:
        claims = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return False
    now = queue.now_ms()
    if claims.get("s") != showtime.pk or claims.get("m") != member_for(request):
        return False
    if not isinstance(claims.get("d"), int) or claims["d"] <= now:
        return False
    place = queue.place(showtime_id=showtime.pk, member=claims["m"], now=now)
    return place is not None and place.admitted


def finished(*, showtime: Showtime, user_id: int) -> None:
    """The account bought (or gave up): its active slot goes to the next in line."""
    if showtime.waiting_room:
        queue.leave(showtime_id=showtime.pk, member=f"u{user_id}")


def admit_pass() -> int:
    """One pass of the worker: let in whoever each open room may admit now; audited per pass."""
    now = timezone.now()
    rooms = Showtime.objects.filter(waiting_room=True, starts_at__gt=now)
    total = 0
    for showtime in rooms:
        members, deadline = queue.admit(showtime_id=showtime.pk, rules=rules_for(showtime))
        if members:
            total += len(members)
            record(
                Kind.WAITING_ROOM_ADMITTED,
                showtime_id=showtime.pk,
                detail={"admitted": len(members), "members": members[:50], "until": deadline},
            )
    return total
