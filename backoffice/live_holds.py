"""Back-office page "Live holds": who holds which seats right now, and a release button.

Staff only (wrapped in `admin.site.admin_view` in config/urls.py). Releasing goes through the
booking service, so it is audited and every viewer's seat map frees the seats live.
"""

from datetime import timedelta

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
from bookings.selectors import current_holds
from cinema.access import kept_back, release_time
from cinema.models import Showtime
from cinema.plans import get_plan


def natural_order(label: str) -> tuple[str, int]:
    """C2 before C10."""
    row = label.rstrip("0123456789")
    return (row, int(label[len(row) :]))


# Showtimes that started this long ago still show up (late payers, staff checks).
RECENT = timedelta(hours=3)


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


@permission_required("bookings.view_booking", raise_exception=True)
def live_holds(request, showtime_id: int):
    showtime = get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium"), pk=showtime_id
    )
    found = current_holds(showtime)
    kept = kept_back(showtime=showtime, plan=get_plan(showtime.auditorium))
    context = {
        **admin.site.each_context(request),
        "title": f"Live holds: {showtime}",
        "showtime": showtime,
        "holds": found,
        "held_seats": sum(len(hold.seats) for hold in found),
        # Wheelchair spaces and companion seats not yet on general sale, and which are held.
        "kept": sorted(kept, key=natural_order),
        "kept_held": {label for hold in found for label in hold.seats} & kept,
        "kept_until": release_time(showtime),
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
