from django.shortcuts import get_object_or_404, render

from bookings.selectors import seat_map_for
from cinema.models import Showtime


def showtime_detail(request, showtime_id: int):
    showtime = get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium"), pk=showtime_id
    )
    return render(
        request,
        "bookings/showtime.html",
        {"showtime": showtime, "seat_map": seat_map_for(showtime=showtime)},
    )
