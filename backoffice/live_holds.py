"""Back-office page "Live holds": who holds which seats right now, and a release button.

Staff only (wrapped in `admin.site.admin_view` in config/urls.py). Releasing goes through the
booking service, so it is audited and every viewer's seat map frees the seats live.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Q
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings import services
from bookings.errors import BookingError
from bookings.models import Booking
from cinema.models import Showtime
from cinema.plans import get_plan
from seats import holds

# Showtimes that started this long ago still show up (late payers, staff checks).
RECENT = timedelta(hours=3)


@dataclass(frozen=True)
class LiveHold:
    token: str
    seats: list[str]
    expires_at: datetime | None
    booking: Booking | None

    @property
    def seconds_left(self) -> int | None:
        if self.expires_at is None:
            return None
        return max(0, int((self.expires_at - timezone.now()).total_seconds()))


@permission_required("bookings.view_booking", raise_exception=True)
def live_holds_index(request):
    """Upcoming showtimes, the ones with bookings waiting for payment first."""
    showtimes = (
        Showtime.objects.filter(starts_at__gte=timezone.now() - RECENT)
        .select_related("movie", "auditorium")
        .annotate(pending=Count("bookings", filter=Q(bookings__status=Booking.Status.PENDING)))
        .order_by("-pending", "starts_at")[:100]
    )
    context = {**admin.site.each_context(request), "title": "Live holds", "showtimes": showtimes}
    return render(request, "backoffice/live_holds_index.html", context)


def current_holds(showtime: Showtime) -> list[LiveHold]:
    """The holds in Redis right now, one per token, with their booking when there is one."""
    plan = get_plan(showtime.auditorium)
    seats: dict[str, list[str]] = {}
    expiry: dict[str, datetime | None] = {}
    for label, (token, expires_at) in holds.live(
        showtime_id=showtime.pk, labels=list(plan.seats_by_label)
    ).items():
        seats.setdefault(token, []).append(label)
        expiry[token] = max(filter(None, [expiry.get(token), expires_at]), default=None)
    bookings = {
        booking.hold_token: booking
        for booking in Booking.objects.filter(showtime=showtime, hold_token__in=list(seats))
        .select_related("user")
        .order_by("created_at")
    }
    found = [
        LiveHold(token=token, seats=labels, expires_at=expiry[token], booking=bookings.get(token))
        for token, labels in seats.items()
    ]
    return sorted(found, key=lambda hold: (hold.expires_at is None, hold.expires_at))


@permission_required("bookings.view_booking", raise_exception=True)
def live_holds(request, showtime_id: int):
    showtime = get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium"), pk=showtime_id
    )
    found = current_holds(showtime)
    context = {
        **admin.site.each_context(request),
        "title": f"Live holds: {showtime}",
        "showtime": showtime,
        "holds": found,
        "held_seats": sum(len(hold.seats) for hold in found),
    }
    return render(request, "backoffice/live_holds.html", context)


@permission_required("bookings.release_hold", raise_exception=True)
@require_POST
def release_hold(request, showtime_id: int):
    showtime = get_object_or_404(Showtime.objects.select_related("auditorium"), pk=showtime_id)
    token = request.POST.get("token", "").strip()
    if not token:
        return HttpResponseBadRequest("Say which hold to release.")
    try:
        labels = services.staff_release_hold(showtime=showtime, token=token, actor=request.user)
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Released seats {', '.join(labels)}.")
    response = HttpResponseRedirect(reverse("live_holds_showtime", args=[showtime.pk]))
    response.status_code = 303
    return response
