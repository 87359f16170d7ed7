"""Reads of the catalogue for the browse pages, and the cinema's own page."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import groupby

from django.conf import settings
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from cinema.models import Movie, Seat, Showtime, Venue
from cinema.pricing import cheapest_price

DATE_STRIP_DAYS = 9  # today, tomorrow and the seven days after
FILLING_FAST_SHARE = 0.2  # under a fifth of the seats left
PROJECTIONS = {choice.value for choice in Showtime.Format}
# The screening kinds a listing can be narrowed to, as they appear in a URL.
KIND_FILTERS = ("subtitled", "audio-described", "relaxed", "wheelchair")
# Showtimes whose wheelchair spaces are read at a time (two queries and one Redis round trip).
WHEELCHAIR_PAGE = 200


@dataclass(frozen=True, slots=True)
class Availability:
    """Sold tickets against sellable seats. Seats held by someone paying count as free: a hold
    lasts minutes, and this is a hint on a listing, not the seat map."""

    capacity: int
    sold: int

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.sold, 0)

    @property
    def sold_out(self) -> bool:
        return self.seats_left == 0

    @property
    def filling_fast(self) -> bool:
        return not self.sold_out and self.seats_left < self.capacity * FILLING_FAST_SHARE


def date_strip(*, today: date) -> list[date]:
    """The days a moviegoer can pick on the home page, starting today."""
    return [today + timedelta(days=offset) for offset in range(DATE_STRIP_DAYS)]


def _with_availability(showtimes: QuerySet[Showtime]) -> QuerySet[Showtime]:
    sellable = (
        Seat.objects.filter(auditorium_id=OuterRef("auditorium_id"), blocked=False)
        .order_by()
        .values("auditorium_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # "tickets" and "room" are the reverse names bookings' Ticket and the waiting room's
    # WaitingRoom give a showtime: read by name, so the catalogue imports neither app.
    return showtimes.annotate(
        sold=Count("tickets"),
        capacity=Coalesce(Subquery(sellable, output_field=IntegerField()), 0),
        queued=Coalesce(F("room__on"), Value(False)),
    )


def _attach_availability(showtimes: list[Showtime]) -> list[Showtime]:
    """Each showtime's availability, and its "from" price (the price list's card is cached);
    `queued` says it sells through its waiting room."""
    for showtime in showtimes:
        showtime.availability = Availability(capacity=showtime.capacity, sold=showtime.sold)
        showtime.from_price = cheapest_price(showtime=showtime)
    return showtimes


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@cache
def _holds_reader(path: str) -> Callable[[dict[int, list[str]]], dict[int, set[str]]]:
    return import_string(path)


def _wheelchair_free(rows: list[tuple[int, int]]) -> set[int]:
    """Which of these (showtime, auditorium) pairs have a wheelchair space ('a', not blocked)
    neither sold nor held: one query for the spaces, one for the sold ones, one Redis round
    trip for the holds (settings.SEAT_HOLDS), however many showtimes."""
    spaces: dict[int, set[str]] = {}
    for auditorium_id, label in Seat.objects.filter(
        auditorium_id__in={auditorium_id for _, auditorium_id in rows},
        kind=Seat.Kind.ACCESSIBLE,
        blocked=False,
    ).values_list("auditorium_id", "label"):
        spaces.setdefault(auditorium_id, set()).add(label)
    candidates = [(pk, auditorium_id) for pk, auditorium_id in rows if auditorium_id in spaces]
    sold: dict[int, set[str]] = {}
    # "tickets" is the reverse name bookings' Ticket gives a showtime (read by name, as above).
    for pk, label in Showtime.objects.filter(
        pk__in=[pk for pk, _ in candidates], tickets__seat__kind=Seat.Kind.ACCESSIBLE
    ).values_list("pk", "tickets__seat__label"):
        sold.setdefault(pk, set()).add(label)
    unsold = {
        pk: sorted(spaces[auditorium_id] - sold.get(pk, set())) for pk, auditorium_id in candidates
    }
    held = _holds_reader(settings.SEAT_HOLDS)(unsold)
    return {pk for pk, labels in unsold.items() if set(labels) - held.get(pk, set())}


def _with_wheelchair_space(showtimes: QuerySet[Showtime], *, limit: int | None) -> list[int]:
    """The ids of these showtimes (in their order; the first `limit` if given) that have a
    wheelchair space free, read a page at a time so neither queries nor Redis grow with them."""
    ordered = showtimes.order_by("starts_at", "pk").values_list("pk", "auditorium_id")
    found: list[int] = []
    offset = 0
    while limit is None or len(found) < limit:
        page = list(ordered[offset : offset + WHEELCHAIR_PAGE])
        free = _wheelchair_free(page)
        found += [pk for pk, _ in page if pk in free]
        if len(page) < WHEELCHAIR_PAGE:
            break
        offset += WHEELCHAIR_PAGE
    return found if limit is None else found[:limit]


def filter_showtimes(
    showtimes: QuerySet[Showtime],
    *,
    formats: Collection[str] = (),
    kinds: Collection[str] = (),
    limit: int | None = None,
) -> QuerySet[Showtime]:
    """These showtimes in any of the `formats` (projections: none is every one) and of every
    one of the `kinds` (KIND_FILTERS); unknown values are left out. With "wheelchair" and a
    `limit`, only the first `limit` (by start) are looked at in Redis."""
    projections = PROJECTIONS.intersection(formats)
    if projections:
        showtimes = showtimes.filter(format__in=projections)
    if "subtitled" in kinds:
        showtimes = showtimes.subtitled()
    if "audio-described" in kinds:
        showtimes = showtimes.filter(audio_described=True)
    if "relaxed" in kinds:
        showtimes = showtimes.filter(relaxed=True)
    if "wheelchair" in kinds:
        showtimes = showtimes.filter(pk__in=_with_wheelchair_space(showtimes, limit=limit))
    return showtimes


def showing_on(
    *, day: date, query: str = "", formats: Collection[str] = (), kinds: Collection[str] = ()
) -> list[Movie]:
    """Movies with a showtime still to start (not cancelled) on the local `day` that matches the
    title search, the formats and the screening kinds (`filter_showtimes`); each carries those
    showtimes, with availability, in `day_showtimes`.

    Projections (2d, 3d, imax) widen the choice, kinds narrow it: "3d imax" and "subtitled" is
    every subtitled showing in 3D or IMAX.
    """
    start, end = _day_bounds(day)
    showtimes = filter_showtimes(
        Showtime.objects.upcoming().filter(
            starts_at__gte=start, starts_at__lt=end, cancelled_at__isnull=True
        ),
        formats=formats,
        kinds=kinds,
    )
    movies = Movie.objects.filter(pk__in=showtimes.values("movie_id"))
    if query:
        movies = movies.filter(title__icontains=query)
    listed = _with_availability(showtimes.select_related("auditorium", "price_list"))
    movies = list(
        movies.prefetch_related(
            "genres", Prefetch("showtimes", queryset=listed, to_attr="day_showtimes")
        )
    )
    for movie in movies:
        _attach_availability(movie.day_showtimes)
    return movies


def showtimes_by_day(
    *, movie: Movie, formats: Collection[str] = (), kinds: Collection[str] = ()
) -> list[tuple[date, list[Showtime]]]:
    """The movie's upcoming showtimes (none cancelled) in those formats and of those kinds
    (`filter_showtimes`), with availability, grouped by local calendar day."""
    found = filter_showtimes(
        Showtime.objects.upcoming().filter(movie=movie, cancelled_at__isnull=True),
        formats=formats,
        kinds=kinds,
    )
    showtimes = _attach_availability(
        list(_with_availability(found.select_related("movie", "auditorium", "price_list")))
    )
    return [
        (day, list(group))
        for day, group in groupby(showtimes, key=lambda s: timezone.localdate(s.starts_at))
    ]


def listed(showtimes: QuerySet[Showtime]) -> list[Showtime]:
    """These showtimes (ordered and sliced as given) with their film, hall and price list, each
    with its availability and "from" price."""
    showtimes = showtimes.select_related("movie", "auditorium", "price_list")
    return _attach_availability(list(_with_availability(showtimes)))


def upcoming_showtimes(
    *,
    day: date | None = None,
    film: str = "",
    projection: str = "",
    kinds: Collection[str] = (),
    limit: int = 200,
) -> list[Showtime]:
    """Showtimes still to start (on the local `day`, if given), of the film whose slug is `film`,
    in the `projection` format if given and of every one of the `kinds` (`filter_showtimes`),
    the soonest first: at most `limit` of them, each with its availability and "from" price."""
    showtimes = Showtime.objects.filter(starts_at__gt=timezone.now())
    if day is not None:
        start, end = _day_bounds(day)
        showtimes = showtimes.filter(starts_at__gte=start, starts_at__lt=end)
    if film:
        showtimes = showtimes.filter(movie__slug=film)
    showtimes = filter_showtimes(
        showtimes, formats=[projection] if projection else [], kinds=kinds, limit=limit
    )
    return listed(showtimes.order_by("starts_at", "pk")[:limit])


def current_venue() -> Venue:
    """The cinema's page as staff wrote it; before they have, an empty one (one query)."""
    return Venue.objects.filter(pk=Venue.SINGLE).first() or Venue()
