"""Back-office sales pages: one showtime's sales, and a day's showtimes by occupancy. The numbers
come from bookings.reports; these views only parse the URL and render (Manager: view_sales)."""

from datetime import MAXYEAR, MINYEAR, date, datetime

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from bookings import reports
from cinema.models import Showtime
from infra.dates import show_day, show_when

BAD_DATE = "Give the day as ?date=YYYY-MM-DD, for example ?date=2025-06-01."


@permission_required("bookings.view_sales", raise_exception=True)
def sales_showtime(request, showtime_id: int):
    try:
        sales = reports.get_showtime_sales(showtime_id=showtime_id)
    except Showtime.DoesNotExist:
        raise Http404("No such showtime.") from None
    showtime = sales.showtime
    starts = show_when(showtime.starts_at)
    context = {
        **admin.site.each_context(request),
        "title": f"Sales: {showtime.movie}, {starts}",
        "sales": sales,
        "day": timezone.localdate(showtime.starts_at),
    }
    return render(request, "backoffice/sales_showtime.html", context)


@permission_required("bookings.view_sales", raise_exception=True)
def sales_day(request):
    day = _parse_day(request.GET.get("date", ""))
    if day is None:
        return HttpResponseBadRequest(BAD_DATE, content_type="text/plain; charset=utf-8")
    context = {
        **admin.site.each_context(request),
        "title": f"Sales: {show_day(day, long=True)}",
        "report": reports.get_day_occupancy(day=day),
        "is_today": day == timezone.localdate(),
    }
    return render(request, "backoffice/sales_day.html", context)


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
