from django.conf import settings
from django.http import QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from cinema.forms import FORMAT_CHOICES, KIND_CHOICES, SEARCH_MAX_LENGTH, BrowseForm, FilterForm
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
    notes += form.notes()
    query, formats, kinds = (
        values.get("q", "").strip(),
        values.get("format", []),
        values.get("kind", []),
    )
    # What the date strip's links carry over: the cleaned search and filters, not raw input.
    browse_query = QueryDict(mutable=True)
    if query:
        browse_query["q"] = query
    browse_query.setlist("format", formats)
    browse_query.setlist("kind", kinds)
    day_query = browse_query.copy()
    day_query["date"] = day.isoformat()
    context = {
        "movies": showing_on(day=day, query=query, formats=formats, kinds=kinds),
        "days": days,
        "day": day,
        "query": query,
        **_filters(form, day_query),
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


def _filters(form: FilterForm, query: QueryDict) -> dict:
    """What a listing's filter form and its "chosen" chips need: the filters applied, each with
    the link that removes it from `query` (the page's cleaned query), and the link that drops
    them all."""
    removals = []
    for name, value, label in form.chosen():
        without = query.copy()
        without.setlist(name, [kept for kept in query.getlist(name) if kept != value])
        removals.append({"label": label, "href": f"?{without.urlencode()}"})
    cleared = query.copy()
    for name in ("format", "kind"):
        cleared.pop(name, None)
    return {
        "formats": query.getlist("format"),
        "kinds": query.getlist("kind"),
        "format_choices": FORMAT_CHOICES,
        "kind_choices": KIND_CHOICES,
        "chosen_filters": removals,
        "clear_filters": f"?{cleared.urlencode()}",
    }


def movie_detail(request, slug: str):
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), slug=slug)
    form = FilterForm(request.GET)
    form.is_valid()
    formats, kinds = form.cleaned_data.get("format", []), form.cleaned_data.get("kind", [])
    query = QueryDict(mutable=True)
    query.setlist("format", formats)
    query.setlist("kind", kinds)
    return render(
        request,
        "cinema/movie.html",
        {
            "movie": movie,
            "days": showtimes_by_day(movie=movie, formats=formats, kinds=kinds),
            "notes": form.notes(),
            **_filters(form, query),
        },
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
