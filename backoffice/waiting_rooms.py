"""Back-office waiting rooms: every on-sale through a queue, and one room as it happens, with its
switches and numbers for staff who may change showtimes."""

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from bookings import reports
from cinema.models import Showtime
from infra.dates import show_when
from infra.inputs import whole_number
from waitingroom import services as room_services
from waitingroom.models import WaitingRoom


@permission_required("cinema.view_showtime", raise_exception=True)
def waiting_rooms(request):
    """Upcoming showtimes sold through a waiting room or with an on-sale time still to come."""
    now = timezone.now()
    showtimes = (
        Showtime.objects.filter(starts_at__gte=now)
        .filter(Q(room__on=True) | Q(on_sale_at__gt=now))
        .select_related("movie", "auditorium", "room")
        .order_by("on_sale_at", "starts_at")[:100]
    )
    rooms = [(showtime, WaitingRoom.of(showtime)) for showtime in showtimes]
    context = {**admin.site.each_context(request), "title": "Waiting rooms", "rooms": rooms}
    return render(request, "backoffice/waiting_rooms.html", context)


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
        return render(request, "backoffice/_room_figures.html", {"figures": figures})
    return _room_page(request, figures)


def _room_page(request, figures, *, error: str = "", status: int = 200):
    showtime = figures.showtime
    starts = show_when(showtime.starts_at)
    context = {
        **admin.site.each_context(request),
        "title": f"Waiting room: {showtime.movie}, {starts}",
        "figures": figures,
        "showtime": showtime,
        "can_change": request.user.has_perm("cinema.change_showtime"),
        "error": error,
    }
    return render(request, "backoffice/waiting_room.html", context, status=status)


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
