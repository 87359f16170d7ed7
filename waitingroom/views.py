"""The queue page: a visitor's place, live over the WebSocket (waitingroom.consumers) or asked
for again every few seconds without it, until it is their turn."""

from datetime import UTC, datetime

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect
from redis.exceptions import RedisError

from cinema.models import Showtime
from infra.limits import ARRIVED
from waitingroom import queue, remembered, services
from waitingroom.models import WaitingRoom

POLL_SECONDS = 2
# The claim to a place outlives any queue: a day.
COOKIE_SECONDS = 24 * 3600


def _moment(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


@require_GET
def queue_page(request, showtime_id: int):
    showtime = get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium", "room"), pk=showtime_id
    )
    if not services.is_on(showtime):
        return redirect(showtime.get_absolute_url())
    remembered.remember_room(showtime)
    member = services.member_for(request.user)
    try:
        if isinstance(member, services.NoPlace):
            return _no_place(request, showtime, member)
        remembered.remember_member(request.user)
        entry = services.enter(
            showtime=showtime,
            member=member,
            token=request.COOKIES.get(services.cookie_name(showtime.pk), ""),
            arrived_ms=request.scope.get(ARRIVED) if hasattr(request, "scope") else None,
        )
    except RedisError:
        context = {"showtime": showtime, "down": True, "poll": POLL_SECONDS}
        return render(request, "waitingroom/queue.html", context, status=503)
    turn = entry.place.admitted
    if turn and request.htmx:
        response = HttpResponseClientRedirect(showtime.get_absolute_url())
    elif turn and request.GET.get("go"):
        response = redirect(showtime.get_absolute_url())
    else:
        context = place_context(
            showtime=showtime,
            place=entry.place,
            paused=WaitingRoom.of(showtime).paused,
            queue_url=request.path,
            wait_minutes=services.wait_minutes(showtime, entry.place),
        )
        template = "waitingroom/_place.html" if request.htmx else "waitingroom/queue.html"
        response = render(request, template, context)
    set_claim_cookie(response, request=request, showtime=showtime, claim=entry.cookie)
    return response


def set_claim_cookie(response, *, request, showtime: Showtime, claim: str) -> None:
    """The visitor's claim to their place, as the page and the edge (waitingroom.edge) set it."""
    response.set_cookie(
        services.cookie_name(showtime.pk),
        claim,
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def _no_place(request, showtime: Showtime, why):
    """The queue as a visitor who may not take a place sees it, and what to do to take one."""
    waiting, _ = queue.sizes(showtime_id=showtime.pk)
    context = {
        "showtime": showtime,
        "why": why.value,
        "waiting": waiting,
        "sign_in": redirect_to_login(request.path).url,
        "opens": showtime.on_sale_at if showtime.sale_opens_later else None,
    }
    return render(request, "waitingroom/queue.html", context)


def place_context(*, showtime: Showtime, place, paused: bool, queue_url: str, wait_minutes) -> dict:
    """What `_place.html` shows, for the page, its polling and the WebSocket alike."""
    ahead, rounded = services.shown_ahead(place.ahead)
    return {
        "showtime": showtime,
        "place": place,
        "paused": paused,
        "ahead": ahead,
        "rounded": rounded,
        "queue_url": queue_url,
        "until": _moment(place.deadline_ms),
        "wait_minutes": wait_minutes,
        "opens": showtime.on_sale_at if showtime.sale_opens_later else None,
        "poll": POLL_SECONDS,
    }
