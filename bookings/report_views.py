"""Back-office sales pages: one showtime's sales, a day's showtimes by occupancy, and an on-sale
through the waiting room as it happens.

Staff only (wrapped in `admin.site.admin_view` in config/urls.py). The numbers come from
bookings.reports; these views only parse the URL and render.
"""

from datetime import MAXYEAR, MINYEAR, date, datetime

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat, timezone

from bookings import reports
from cinema.models import Showtime
from infra.inputs import whole_number
from waitingroom import services as room_services

BAD_DATE = "Give the day as ?date=YYYY-MM-DD, for example ?date=2025-06-01."


@permission_required("bookings.view_sales", raise_exception=True)
def sales_showtime(request, showtime_id: int):
    try:
        sales = reports.get_showtime_sales(showtime_id=showtime_id)
    except Showtime.DoesNotExist:
        raise Http404("No such showtime.") from None
    showtime = sales.showtime
    starts = dateformat.format(timezone.localtime(showtime.starts_at), "D j M H:i")
    context = {
        **admin.site.each_context(request),
        "title": f"Sales: {showtime.movie}, {starts}",
        "sales": sales,
        "day": timezone.localdate(showtime.starts_at),
    }
    return render(request, "bookings/admin/sales_showtime.html", context)


@permission_required("bookings.view_sales", raise_exception=True)
def sales_day(request):
    day = _parse_day(request.GET.get("date", ""))
    if day is None:
        return HttpResponseBadRequest(BAD_DATE, content_type="text/plain; charset=utf-8")
    context = {
        **admin.site.each_context(request),
        "title": f"Sales: {dateformat.format(day, 'l j F Y')}",
        "report": reports.get_day_occupancy(day=day),
        "is_today": day == timezone.localdate(),
    }
    return render(request, "bookings/admin/sales_day.html", context)


def _parse_day(value: str) -> date | None:
    """Today when blank; None for anything but a real YYYY-MM-DD with a day on either side."""
    if not value:
        return timezone.localdate()
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    # The first and last years have no previous or next day to link to.
    return day if MINYEAR < day.year < MAXYEAR else None


@permission_required("cinema.view_showtime", raise_exception=True)
def waiting_rooms(request):
    """Upcoming showtimes sold through a waiting room or with an on-sale time still to come."""
    now = timezone.now()
    showtimes = (
        Showtime.objects.filter(starts_at__gte=now)
        .filter(Q(waiting_room=True) | Q(on_sale_at__gt=now))
        .select_related("movie", "auditorium")
        .order_by("on_sale_at", "starts_at")[:100]
    )
    context = {**admin.site.each_context(request), "title": "Waiting rooms", "showtimes": showtimes}
    return render(request, "bookings/admin/waiting_rooms.html", context)


@permission_required("cinema.view_showtime", raise_exception=True)
def waiting_room(request, showtime_id: int):
    """An on-sale as it happens: the queue, the shoppers, the pace of admissions and of sales,
    and the time left to sell out (htmx asks for the figures again every few seconds); with
    pause, resume, on/off and the room's numbers for staff who may change showtimes."""
    try:
        figures = reports.get_room_figures(showtime_id=showtime_id)
    except Showtime.DoesNotExist:
        raise Http404("No such showtime.") from None
    if request.method == "POST":
        return _change_room(request, figures)
    if request.htmx:
        return render(request, "bookings/admin/_room_figures.html", {"figures": figures})
    return _room_page(request, figures)


def _room_page(request, figures, *, error: str = "", status: int = 200):
    showtime = figures.showtime
    starts = dateformat.format(timezone.localtime(showtime.starts_at), "D j M H:i")
    context = {
        **admin.site.each_context(request),
        "title": f"Waiting room: {showtime.movie}, {starts}",
        "figures": figures,
        "showtime": showtime,
        "can_change": request.user.has_perm("cinema.change_showtime"),
        "error": error,
    }
    return render(request, "bookings/admin/waiting_room.html", context, status=status)


def _change_room(request, figures):
    if not request.user.has_perm("cinema.change_showtime"):
        raise PermissionDenied("Changing a waiting room needs the right to change showtimes.")
    action = request.POST.get("action", "")
    if action in room_services.SWITCHES:
        changes = room_services.SWITCHES[action]
    elif action == "set":
        changes = {}
        for name, (field, _) in room_services.NUMBERS.items():
            changes[field] = whole_number(request.POST.get(name, "").strip(), digits=9)
            if changes[field] is None:
                error = f"Give {name.replace('_', ' ')} as a whole number, 1 or more."
                return _room_page(request, figures, error=error, status=400)
    else:
        return _room_page(request, figures, error="Choose what to change.", status=400)
    try:
        room_services.change_room(
            showtime=figures.showtime,
            action=action,
            changes=changes,
            by=request.user.get_username(),
        )
    except room_services.RoomError as error:
        return _room_page(request, figures, error=str(error), status=400)
    messages.success(request, "The waiting room is changed.")
    response = HttpResponseRedirect(reverse("waiting_room", args=[figures.showtime.pk]))
    response.status_code = 303
    return response
