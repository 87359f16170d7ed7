from django.conf import settings
from django.http import QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from cinema.forms import FORMAT_CHOICES, SEARCH_MAX_LENGTH, BrowseForm
from cinema.models import Movie
from cinema.selectors import current_venue, date_strip, showing_on, showtimes_by_day
from infra.dates import show_day


def home(request):
    today = timezone.localdate()
    days = date_strip(today=today)
    form = BrowseForm(request.GET)
    form.is_valid()
    values, notes = form.cleaned_data, []
    day = values.get("date") or today
    if "date" in form.errors or day not in days:
        notes.append(
            f"We list films from today to {show_day(days[-1], long=True)}, "
            "so here is what is on today."
        )
        day = today
    if "format" in form.errors:
        notes.append("That format filter isn't one we know, so it was left out.")
    query, formats = values.get("q", "").strip(), values.get("format", [])
    # What the date strip's links carry over: the cleaned search and filters, not raw input.
    browse_query = QueryDict(mutable=True)
    if query:
        browse_query["q"] = query
    browse_query.setlist("format", formats)
    context = {
        "movies": showing_on(day=day, query=query, formats=formats),
        "days": days,
        "day": day,
        "query": query,
        "formats": formats,
        "format_choices": FORMAT_CHOICES,
        "search_max_length": SEARCH_MAX_LENGTH,
        "notes": notes,
        "browse_query": browse_query,
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "cinema/_listing.html", {**context, "oob": True})
    else:
        response = render(request, "cinema/home.html", context)
    # The same URL answers with a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def movie_detail(request, slug: str):
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), slug=slug)
    return render(
        request,
        "cinema/movie.html",
        {"movie": movie, "days": showtimes_by_day(movie=movie)},
    )


def venue(request):
    """The cinema's page: where it is, how to get there, access, contact (written in the admin)."""
    return render(
        request,
        "cinema/venue.html",
        {
            "venue": current_venue(),
            "cinema_name": settings.CINEMA_NAME,
            "refund_cutoff_hours": settings.REFUND_CUTOFF_HOURS,
        },
    )
