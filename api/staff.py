"""What staff do through the API, each operation behind the permission its scope names
(api.auth.SCOPES): bookings as the original system filtered them (film, day, buyer, status),
a booking's audit trail, the audit feed, live holds, refunds, door scans, the waiting room's
figures. The same services as the back office and the door decide.

Lists page with a cursor (newest first): an opaque string naming the last row seen, so a page
stays right while new rows arrive, and each page costs one indexed query.
"""

import base64
import datetime as dt
from decimal import Decimal

from django.db.models import Q
from django.http import Http404
from ninja import Query, Router, Schema, Status
from ninja.decorators import decorate_view
from pydantic import Field

from api.auth import signed_in
from api.customers import booking_data
from api.idempotency import idempotent
from api.public import showtime_or_404
from api.schemas import (
    BookingPage,
    Day,
    EventOut,
    EventPage,
    LiveHoldOut,
    Problem,
    Ref,
    RefundIn,
    RefundOut,
    RoomOut,
    ScanIn,
    ScanOut,
    StaffBookingOut,
)
from audit.display import HIDDEN_KEYS
from audit.models import AuditEvent
from bookings import reports, services
from bookings.errors import InvalidRequest
from bookings.models import Booking
from bookings.selectors import current_holds
from checkin import services as door
from cinema.models import Showtime

router = Router(tags=["Staff"])

READ_REFUSALS = {400: Problem, 401: Problem, 403: Problem, 429: Problem}
PAGE_MAX = 100
TRAIL_MAX = 500


class BookingFilters(Schema):
    movie: str = Field("", pattern=r"^[-a-zA-Z0-9_]{0,200}$", description="The film's slug")
    date: Day | None = Field(None, description="Showtimes on this local day (YYYY-MM-DD)")
    user: str = Field("", max_length=254, description="The buyer's email address or username")
    status: Booking.Status | None = None
    cursor: str = Field("", pattern=r"^[-A-Za-z0-9_=]{0,200}$")
    limit: int = Field(50, ge=1, le=PAGE_MAX)


class EventFilters(Schema):
    kind: AuditEvent.Kind | None = None
    cursor: str = Field("", pattern=r"^[0-9]{0,18}$")
    limit: int = Field(50, ge=1, le=PAGE_MAX)


def _page(rows, limit: int) -> tuple[list, object | None]:
    """The first `limit` rows, and the last of them when more follow (the next cursor's mark)."""
    page = list(rows[: limit + 1])
    return page[:limit], (page[limit - 1] if len(page) > limit else None)


def _staff_booking(booking: Booking) -> dict:
    return {
        **booking_data(booking),
        "user": booking.user.email,
        "film": booking.showtime.movie.slug,
        "starts_at": booking.showtime.starts_at,
    }


def _booking_cursor(booking: Booking) -> str:
    mark = f"{booking.created_at.isoformat()}|{booking.pk}"
    return base64.urlsafe_b64encode(mark.encode()).decode()


def _after_booking(cursor: str) -> Q:
    try:
        at, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at, pk = dt.datetime.fromisoformat(at), int(pk)
    except (ValueError, UnicodeError):
        raise InvalidRequest("That cursor is not one this API gave.") from None
    return Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)


@router.get(
    "/staff/bookings",
    auth=signed_in("bookings:read"),
    response={200: BookingPage, **READ_REFUSALS},
    summary="Bookings, newest first, by film, day, buyer and status",
)
def bookings(request, filters: Query[BookingFilters]):
    found = Booking.objects.select_related("user", "showtime__movie").order_by("-created_at", "-pk")
    if filters.movie:
        found = found.filter(showtime__movie__slug=filters.movie)
    if filters.date:
        found = found.filter(showtime__starts_at__date=filters.date)
    if filters.user:
        found = found.filter(Q(user__email__iexact=filters.user) | Q(user__username=filters.user))
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.cursor:
        found = found.filter(_after_booking(filters.cursor))
    page, last = _page(found, filters.limit)
    return {
        "items": [_staff_booking(booking) for booking in page],
        "next": last and _booking_cursor(last),
    }


def _booking_or_404(ref: str) -> Booking:
    booking = Booking.objects.select_related("user", "showtime__movie").filter(ref=ref[:64]).first()
    if booking is None:
        raise Http404("There is no such booking.")
    return booking


@router.get(
    "/staff/bookings/{ref}",
    auth=signed_in("bookings:read"),
    response={200: StaffBookingOut, 404: Problem, **READ_REFUSALS},
    summary="Any booking",
)
def booking(request, ref: Ref):
    return _staff_booking(_booking_or_404(ref))


def _event(event: AuditEvent) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "actor": event.actor.get_username() if event.actor_id else None,
        "showtime": event.showtime_id,
        "booking": event.booking_ref,
        "seats": [str(seat) for seat in event.seats],
        "detail": {key: value for key, value in event.detail.items() if key not in HIDDEN_KEYS},
        "request_id": event.request_id,
    }


@router.get(
    "/staff/bookings/{ref}/audit",
    auth=signed_in("bookings:read"),
    response={200: list[EventOut], 404: Problem, **READ_REFUSALS},
    summary="A booking's audit trail, oldest first",
)
def booking_trail(request, ref: Ref):
    booking = _booking_or_404(ref)
    events = AuditEvent.objects.filter(booking_ref=booking.ref).select_related("actor")
    return [_event(event) for event in events.order_by("occurred_at", "id")[:TRAIL_MAX]]


@router.get(
    "/staff/audit",
    auth=signed_in("audit:read"),
    response={200: EventPage, **READ_REFUSALS},
    summary="The audit feed, newest first",
)
def audit_feed(request, filters: Query[EventFilters]):
    events = AuditEvent.objects.select_related("actor").order_by("-id")
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.cursor:  # digits only: EventFilters' pattern refused anything else
        events = events.filter(pk__lt=int(filters.cursor))
    page, last = _page(events, filters.limit)
    return {"items": [_event(event) for event in page], "next": last and str(last.pk)}


@router.post(
    "/staff/bookings/{ref}/refund",
    auth=signed_in("bookings:refund"),
    response={201: RefundOut, 404: Problem, 409: Problem, **READ_REFUSALS},
    summary="Refund a paid booking's tickets, all or some, for what was paid or less",
)
@decorate_view(idempotent)
def refund(request, ref: Ref, body: RefundIn):
    """The refund is recorded with the change, then the provider is asked; its seats are freed
    live. 409 `booking_closed` for a booking that is not paid."""
    made = services.refund_tickets(
        booking=_booking_or_404(ref),
        actor=request.auth,
        reason="refunded by staff",
        labels=body.seats,
        amount=None if body.amount is None else Decimal(body.amount),
        why=body.reason,
    )
    return Status(
        201,
        {
            "booking": booking_data(_booking_or_404(ref)),
            "refunded": f"{made.amount:.2f}",
            "status": made.status,
        },
    )


@router.get(
    "/staff/showtimes/{showtime_id}/holds",
    auth=signed_in("bookings:read"),
    response={200: list[LiveHoldOut], 404: Problem, **READ_REFUSALS},
    summary="Who holds which seats right now",
)
def live_holds(request, showtime_id: int):
    return [
        {
            "seats": hold.seats,
            "expires_at": hold.expires_at,
            "booking": hold.booking.ref if hold.booking else None,
            "user": hold.booking.user.email if hold.booking else None,
        }
        for hold in current_holds(showtime_or_404(showtime_id))
    ]


@router.post(
    "/staff/showtimes/{showtime_id}/scans",
    auth=signed_in("door"),
    response={200: ScanOut, 404: Problem, **READ_REFUSALS},
    summary="Scan a ticket at the door",
)
def scan(request, showtime_id: int, body: ScanIn):
    """The door's answer is in `status` (and `admitted`): a refusal at the door (already in,
    another showtime, void, not a ticket) is an answer, not an error. Scanning twice is safe:
    the second is `already`."""
    showtime = showtime_or_404(showtime_id)
    outcome = door.scan(
        showtime=showtime,
        code=body.code,
        door=door.Door(staff=request.auth, device=body.device, door=body.door),
    )
    counts = door.counts(showtime)
    return {**outcome.as_data(), "checked_in": counts["in"], "sold": counts["sold"]}


@router.get(
    "/staff/showtimes/{showtime_id}/waiting-room",
    auth=signed_in("waiting_room:read"),
    response={200: RoomOut, 404: Problem, **READ_REFUSALS},
    summary="A waiting room's queue, shoppers, pace and sales",
)
def waiting_room(request, showtime_id: int):
    try:
        figures = reports.get_room_figures(showtime_id=showtime_id)
    except Showtime.DoesNotExist:
        raise Http404("There is no such showtime.") from None
    room = figures.room
    return {
        "showtime": showtime_id,
        "on": room.on,
        "paused": room.paused,
        "max_active": room.max_active,
        "admit_per_minute": room.admit_per_minute,
        "capacity": figures.capacity,
        "sold": figures.sold,
        "left": figures.left,
        "sold_per_minute": figures.sold_per_minute,
        "minutes_to_sell_out": figures.minutes_to_sell_out,
        "queued": figures.queued,
        "active": figures.active,
        "admitted_per_minute": figures.admitted_per_minute,
    }
