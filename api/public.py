"""What anyone may read: showtimes, a showtime, its seats as data, its prices, the access
devices it lends."""

from typing import Literal

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.auth import caller
from api.schemas import (
    Day,
    DeviceStockOut,
    HealthOut,
    PricesOut,
    Problem,
    SeatMapOut,
    ShowtimeOut,
)
from audit.health import report
from bookings.services import devices_left
from cinema.models import Showtime
from cinema.plans import get_plan
from cinema.pricing import showtime_card
from cinema.selectors import listed, upcoming_showtimes
from seats.broadcast import read_map, seats_data
from waitingroom.models import WaitingRoom

router = Router(tags=["Showtimes"])

LIST_MAX = 200


class ShowtimeFilters(Schema):
    day: Day | None = Field(None, description="Only this local day (YYYY-MM-DD)")
    film: str = Field(
        "", pattern=r"^[-a-zA-Z0-9_]{0,200}$", description="Only this film (its slug)"
    )
    format: Literal["", "2d", "3d", "imax"] = Field("", description="Only this projection")
    kind: list[Literal["subtitled", "audio-described", "relaxed", "wheelchair"]] = Field(
        [],
        description="Only showtimes of every kind given (repeat it): subtitled (subtitles or "
        "open captions), audio-described, relaxed, wheelchair (a wheelchair space neither sold "
        "nor held)",
    )


def _money(amount) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _showtime(showtime: Showtime) -> dict:
    movie = showtime.movie
    return {
        "id": showtime.pk,
        "film": {
            "slug": movie.slug,
            "title": movie.title,
            "runtime_minutes": movie.runtime_minutes,
            "age_rating": movie.age_rating,
        },
        "auditorium": showtime.auditorium.name,
        "starts_at": showtime.starts_at,
        "ends_at": showtime.ends_at,
        "format": showtime.format,
        "subtitled": showtime.subtitled,
        "audio_language": showtime.audio_language,
        "subtitle_language": showtime.subtitle_language,
        "open_captions": showtime.open_captions,
        "audio_described": showtime.audio_described,
        "relaxed": showtime.relaxed,
        "parent_and_baby": showtime.parent_and_baby,
        "seniors": showtime.seniors,
        "access_notes": showtime.access_notes,
        "kinds": showtime.kinds,
        "on_sale": showtime.on_sale and not showtime.sale_opens_later,
        "on_sale_at": showtime.on_sale_at if showtime.sale_opens_later else None,
        "waiting_room": WaitingRoom.of(showtime).on,
        "seats_left": showtime.availability.seats_left,
        "from_price": _money(showtime.from_price),
        "currency": settings.CURRENCY,
    }


def _listed(showtimes: list[Showtime]) -> list[dict]:
    prefetch_related_objects(showtimes, "room")
    return [_showtime(showtime) for showtime in showtimes]


@router.get("/showtimes", response=list[ShowtimeOut], summary="Showtimes still to start")
def showtimes(request, filters: Query[ShowtimeFilters]):
    """The soonest first, at most 200."""
    found = upcoming_showtimes(
        day=filters.day,
        film=filters.film,
        projection=filters.format,
        kinds=filters.kind,
        limit=LIST_MAX,
    )
    return _listed(found)


def showtime_or_404(showtime_id: int) -> Showtime:
    """The showtime, read with what its answers need (the API's pages and the hold alike)."""
    found = (
        Showtime.objects.select_related("movie", "auditorium", "price_list", "room")
        .filter(pk=showtime_id)
        .first()
    )
    if found is None:
        raise Http404("There is no such showtime.")
    return found


@router.get(
    "/showtimes/{showtime_id}",
    response={200: ShowtimeOut, 404: Problem},
    summary="A showtime",
)
def showtime(request, showtime_id: int):
    found = _listed(listed(Showtime.objects.filter(pk=showtime_id)))
    if not found:
        raise Http404("There is no such showtime.")
    return found[0]


@router.get(
    "/showtimes/{showtime_id}/seats",
    response={200: SeatMapOut, 404: Problem},
    summary="A showtime's seats, with their states and version",
)
def seats(request, showtime_id: int):
    """Each seat's state as you see it (your own held seats are `mine`), read at `version`;
    the live feeds (`/showtimes/{id}/seats/events`, the WebSocket) send changes at higher ones."""
    found = showtime_or_404(showtime_id)
    reading = read_map(showtime=found)
    viewer = getattr(caller(request), "pk", None)
    seats = seats_data(plan=get_plan(found.auditorium), reading=reading, viewer_id=viewer)
    return {"showtime": found.pk, "version": reading.version, "seats": seats}


@router.get(
    "/showtimes/{showtime_id}/prices",
    response={200: PricesOut, 404: Problem},
    summary="A showtime's ticket types and prices",
)
def prices(request, showtime_id: int):
    found = showtime_or_404(showtime_id)
    card = showtime_card(found)
    return {
        "showtime": found.pk,
        "price_list": card.name,
        "currency": settings.CURRENCY,
        "ticket_types": [
            {
                "id": offer.type_id,
                "name": offer.name,
                "price": _money(offer.price),
                "default": offer is card.default_for(found.movie.age_rating),
            }
            for offer in card.offers_for(found.movie.age_rating)
        ],
        "supplements": {kind: _money(amount) for kind, amount in card.supplements.items()},
    }


@router.get(
    "/showtimes/{showtime_id}/devices",
    response={200: list[DeviceStockOut], 404: Problem},
    summary="The access devices a showtime lends, and how many are left",
)
def devices(request, showtime_id: int):
    """Audio-description headsets and caption devices of the showtime's hall (none listed: it
    lends none); add one to a booking with `POST /bookings/{ref}/devices`."""
    found = showtime_or_404(showtime_id)
    return [
        {"kind": kind, "name": name, "left": left}
        for kind, name, left in devices_left(showtime=found)
    ]


@router.get(
    "/health",
    response={200: HealthOut, 503: HealthOut},
    tags=["System"],
    summary="Whether this node reaches the database and Redis, and the workers' state",
)
def health(request):
    healthy, body = report()
    return Status(200 if healthy else 503, body)
