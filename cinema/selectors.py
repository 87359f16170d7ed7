"""Reads of the catalogue for the browse pages, and the cinema's own page."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby

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

from cinema.models import Movie, Seat, Showtime, Venue
from cinema.pricing import cheapest_price

DATE_STRIP_DAYS = 9  # today, tomorrow and the seven days after
FILLING_FAST_SHARE = 0.2  # under a fifth of the seats left
PROJECTIONS = {choice.value for choice in Showtime.Format}
FEATURES = {"subtitled": "subtitled", "audio-described": "audio_described"}


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


def showing_on(*, day: date, query: str = "", formats: Collection[str] = ()) -> list[Movie]:
    """Movies with a showtime still to start on the local `day` that matches the title search
    and the formats; each carries those showtimes, with availability, in `day_showtimes`.

    Projections (2d, 3d, imax) widen the choice, features (subtitled, audio-described) narrow it:
    "3d imax subtitled" is every subtitled showing in 3D or IMAX.
    """
    start, end = _day_bounds(day)
    showtimes = Showtime.objects.upcoming().filter(starts_at__gte=start, starts_at__lt=end)
    projections = PROJECTIONS.intersection(formats)
    if projections:
        showtimes = showtimes.filter(format__in=projections)
    features = {FEATURES[name]: True for name in FEATURES if name in formats}
    if features:
        showtimes = showtimes.filter(**features)
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


def showtimes_by_day(*, movie: Movie) -> list[tuple[date, list[Showtime]]]:
    """The movie's upcoming showtimes, with availability, grouped by local calendar day."""
    showtimes = _attach_availability(
        list(
            _with_availability(
                Showtime.objects.upcoming()
                .filter(movie=movie)
                .select_related("movie", "auditorium", "price_list")
            )
        )
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
    *, day: date | None = None, film: str = "", projection: str = "", limit: int = 200
) -> list[Showtime]:
    """Showtimes still to start (on the local `day`, if given), of the film whose slug is `film`
    and in the `projection` format if given, the soonest first: at most `limit` of them, each with
    its availability and "from" price."""
    showtimes = Showtime.objects.filter(starts_at__gt=timezone.now())
    if day is not None:
        start, end = _day_bounds(day)
        showtimes = showtimes.filter(starts_at__gte=start, starts_at__lt=end)
    if film:
        showtimes = showtimes.filter(movie__slug=film)
    if projection:
        showtimes = showtimes.filter(format=projection)
    return listed(showtimes.order_by("starts_at", "pk")[:limit])


def current_venue() -> Venue:
    """The cinema's page as staff wrote it; before they have, an empty one (one query)."""
    return Venue.objects.filter(pk=Venue.SINGLE).first() or Venue()
