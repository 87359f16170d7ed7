"""What the queue page's answer at the edge (waitingroom.edge) may know without the database,
as the Django view last saw it: a room, for a second, in this process; a member, in the cache,
from signing in or the view's visit until their account or addresses change.

Nothing is remembered unless QUEUE_AT_THE_EDGE mounts the edge (forgetting always runs: the edge
may be turned on later). A room served by the edge is at most ROOM_SECONDS behind staff turning
it off or pausing it: the first visit after that goes through the view, which reads the room
again. A member is known by the account's session hash (Django's check that a session still
belongs to the account: a new password ends every session), and forgotten as soon as the account
or its addresses change (waitingroom.apps), so a session the view would not take is never taken
at the edge.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare
from redis.exceptions import RedisError

from cinema.models import Showtime

log = logging.getLogger(__name__)

ROOM_SECONDS = 1.0
# A member is known this long at most after signing in or the view's last visit, should a change
# escape the signals (a bulk update, a raw SQL edit).
MEMBER_SECONDS = 24 * 3600

_rooms: dict[int, tuple[float, Showtime]] = {}


def remember_room(showtime: Showtime) -> None:
    """`showtime` (its movie, auditorium and room read with it) as the view just read it."""
    if not settings.QUEUE_AT_THE_EDGE:
        return
    _rooms[showtime.pk] = (time.monotonic() + ROOM_SECONDS, showtime)


def room(showtime_id: int) -> Showtime | None:
    """The showtime as the view read it less than ROOM_SECONDS ago in this process, or None."""
    until, showtime = _rooms.get(showtime_id, (0.0, None))
    return showtime if until > time.monotonic() else None


def forget_rooms() -> None:
    _rooms.clear()


def _member_key(user_id) -> str:
    return f"waitingroom:member:{user_id}"


def remember_member(user) -> None:
    """`user` may take a place (`services.member_for` says so): what the page shows of them, and
    the session hash a session of theirs must carry."""
    if not settings.QUEUE_AT_THE_EDGE:
        return
    cache.set(
        _member_key(user.pk),
        {
            "hash": user.get_session_auth_hash(),
            "email": user.email,
            "username": user.get_username(),
            "staff": user.is_staff,
        },
        MEMBER_SECONDS,
    )


def member(user_id, session_hash: str) -> dict | None:
    """What `remember_member` kept of the account, if a session with `session_hash` is still
    theirs; else None."""
    known = cache.get(_member_key(user_id))
    if not known or not constant_time_compare(known["hash"], session_hash or ""):
        return None
    return known


def forget_member(user_id) -> None:
    """The account changed: the edge takes none of its sessions until the view has seen one."""
    try:
        cache.delete(_member_key(user_id))
    except RedisError:
        # The account's change must not fail for it; the member is known MEMBER_SECONDS at most.
        log.warning("could not forget waiting-room member %s: Redis unreachable", user_id)
