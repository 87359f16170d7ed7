"""What a signed-in customer does: who they are, holding seats, their bookings, cancelling.
Each calls the service the pages call, so the same rules say no with the same codes."""

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from ninja import Header, Router, Status
from ninja.decorators import decorate_view

from accounts.services import has_verified_email
from api.idempotency import idempotent
from api.public import showtime_or_404
from api.schemas import BookingOut, CancelOut, HoldIn, MeOut, PayIn, PaymentOut, Problem
from bookings import services
from bookings.models import Booking
from waitingroom import services as waiting_room

router = Router(tags=["Customers"])

REFUSALS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem}


def booking_data(booking: Booking) -> dict:
    return {
        "ref": booking.ref,
        "status": booking.status,
        "showtime": booking.showtime_id,
        "seats": list(booking.seat_labels),
        "amount": f"{booking.amount:.2f}",
        "currency": settings.CURRENCY,
        "expires_at": booking.expires_at if booking.status == Booking.Status.PENDING else None,
        "created_at": booking.created_at,
    }


def _mine(request, ref: str) -> Booking:
    """The caller's booking: anyone else's is not found, as one that does not exist."""
    booking = Booking.objects.filter(ref=ref[:64], user=request.auth).first()
    if booking is None:
        raise Http404("You have no such booking.")
    return booking


@router.get("/me", response={200: MeOut, 401: Problem}, summary="Who you are")
def me(request):
    user = request.auth
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "email_confirmed": has_verified_email(user=user),
        "staff": user.is_staff,
    }


@router.post(
    "/showtimes/{showtime_id}/holds",
    response={201: BookingOut, **REFUSALS},
    summary="Hold seats (or the best available) for five minutes",
)
@decorate_view(idempotent)
def hold(
    request,
    showtime_id: int,
    body: HoldIn,
    waiting_room_pass: str = Header("", alias="X-Waiting-Room-Pass", max_length=1000),
):
    """Replaces your hold for this showtime, if any, or holds nothing. With the showtime's
    waiting room on, send the pass it gave you (`X-Waiting-Room-Pass`, or its cookie)."""
    showtime = showtime_or_404(showtime_id)
    admission = waiting_room_pass or request.COOKIES.get(waiting_room.cookie_name(showtime.pk), "")
    booking = services.hold_seats(
        user=request.auth,
        showtime=showtime,
        labels=body.seats,
        best=body.best,
        admission=admission,
    )
    return Status(201, booking_data(booking))


@router.get("/bookings", response={200: list[BookingOut], 401: Problem}, summary="Your bookings")
def bookings(request):
    """The newest first, at most 100."""
    mine = Booking.objects.filter(user=request.auth).order_by("-created_at", "-pk")[:100]
    return [booking_data(booking) for booking in mine]


@router.get(
    "/bookings/{ref}", response={200: BookingOut, 401: Problem, 404: Problem}, summary="A booking"
)
def booking(request, ref: str):
    return booking_data(_mine(request, ref))


@router.post(
    "/bookings/{ref}/cancel",
    response={200: CancelOut, **REFUSALS},
    summary="Release a hold, or cancel a booking with its refund",
)
@decorate_view(idempotent)
def cancel(request, ref: str):
    """A hold is released; a paid booking is refunded in full until the refund cut-off before
    the show (then this is a 409, `booking_closed`)."""
    refund = services.cancel_booking(booking=_mine(request, ref))
    booking = _mine(request, ref)
    return {
        "booking": booking_data(booking),
        "refunded": None if refund is None else f"{refund.amount:.2f}",
    }


@router.post(
    "/bookings/{ref}/pay",
    response={201: PaymentOut, 402: Problem, **REFUSALS},
    summary="Start paying: the provider's page to send the buyer to",
)
@decorate_view(idempotent)
def pay(request, ref: str, body: PayIn):
    """Records the attempt, then opens the provider's page; only the provider's answer confirms
    the booking. With `total`, a booking whose total has changed since is refused (409,
    `price_changed`) and nothing is charged."""
    booking = _mine(request, ref)
    url = services.start_payment(
        booking=booking,
        expected=body.total,
        return_url=request.build_absolute_uri(reverse("bookings:paid", args=[booking.ref])),
        cancel_url=request.build_absolute_uri(booking.get_absolute_url()),
    )
    return Status(201, {"url": url, "booking": booking_data(_mine(request, ref))})
