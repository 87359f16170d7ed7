"""The queue page: a visitor's place, updated every few seconds, until it is their turn."""

import math
from datetime import UTC, datetime

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect
from redis.exceptions import RedisError

from cinema.models import Showtime
from waitingroom import services

POLL_SECONDS = 2


def _moment(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


@require_GET
def queue_page(request, showtime_id: int):
    showtime = get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium"), pk=showtime_id
    )
    if not showtime.waiting_room:
        return redirect(showtime.get_absolute_url())
    try:
        entry = services.enter(request, showtime)
    except RedisError:
        context = {"showtime": showtime, "down": True, "poll": POLL_SECONDS}
        return render(request, "waitingroom/queue.html", context, status=503)
    turn = entry.place.admitted and request.user.is_authenticated
    if turn and request.htmx:
        response = HttpResponseClientRedirect(showtime.get_absolute_url())
    elif turn and request.GET.get("go"):
        response = redirect(showtime.get_absolute_url())
    else:
        context = {
            "showtime": showtime,
            "place": entry.place,
            "until": _moment(entry.place.deadline_ms),
            "wait_minutes": math.ceil(entry.place.ahead / max(1, showtime.room_admit_per_minute)),
            "opens": showtime.on_sale_at
            if showtime.on_sale_at and showtime.on_sale_at > timezone.now()
            else None,
            "poll": POLL_SECONDS,
            "sign_in": redirect_to_login(request.get_full_path()).url,
        }
        template = "waitingroom/_place.html" if request.htmx else "waitingroom/queue.html"
        response = render(request, template, context)
    if entry.token:
        response.set_cookie(
            services.cookie_name(showtime.pk),
            entry.token,
            max_age=showtime.room_window_minutes * 60,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response
