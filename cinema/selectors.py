"""Reads of the catalogue for the browse pages."""

from datetime import date
from itertools import groupby

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cinema.models import Movie, Showtime


def now_showing() -> QuerySet[Movie]:
    """Movies with at least one upcoming showtime, each with those showtimes prefetched."""
    upcoming = Showtime.objects.upcoming().select_related("auditorium")
    return (
        Movie.objects.filter(showtimes__starts_at__gt=timezone.now())
        .distinct()
        .prefetch_related("genres", Prefetch("showtimes", queryset=upcoming, to_attr="upcoming"))
    )


def showtimes_by_day(*, movie: Movie) -> list[tuple[date, list[Showtime]]]:
    """The movie's upcoming showtimes grouped by local calendar day."""
    showtimes = Showtime.objects.upcoming().filter(movie=movie).select_related("auditorium")
    return [
        (day, list(group))
        for day, group in groupby(showtimes, key=lambda s: timezone.localdate(s.starts_at))
    ]
