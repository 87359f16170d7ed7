"""What a signed-in customer does: who they are, holding seats, their bookings, cancelling.
Each calls the service the pages call, so the same rules say no with the same codes."""

from decimal import Decimal

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from ninja import Header, Router, Status
from ninja.decorators import decorate_view

from accounts.services import has_verified_email
from api.idempotency import idempotent
from api.public import showtime_or_404
from api.schemas import (
    BookingDetailOut,
    BookingOut,
    CancelOut,
    HoldIn,
    MeOut,
    PayIn,
    PaymentOut,
    Problem,
    Ref,
    TicketsIn,
    VoucherIn,
)
from bookings import checkout, services
from bookings.models import Booking
from bookings.tickets import passes
from cinema.pricing import Quote
from waitingroom import services as waiting_room

router = Router(tags=["Customers"])

REFUSALS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem}
READ_REFUSALS = {401: Problem, 403: Problem, 429: Problem}


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


def booking_detail(booking: Booking) -> dict:
    """The booking with its tickets: as chosen while it is held, as sold (with each ticket's
    code for the door) once paid."""
    if booking.status == Booking.Status.CONFIRMED:
        tickets = [
            {
                "seat": ticket.seat,
                "type": ticket.kind,
                "type_id": ticket.ticket.ticket_type_id,
                "category": ticket.ticket.category,
                "price": f"{ticket.ticket.price:.2f}",
                "code": ticket.code,
            }
            for ticket in passes(booking)
        ]
    else:
        tickets = [
            {
                "seat": line.seat,
                "type": line.type_name,
                "type_id": line.type_id,
                "category": line.category,
                "price": f"{line.paid:.2f}",
                "code": None,
            }
            for line in Quote.from_data(booking.lines).lines
        ]
    return {
        **booking_data(booking),
        "voucher": booking.voucher.code if booking.voucher_id else None,
        "discount": f"{booking.discount:.2f}",
        "tickets": tickets,
    }


def _mine(request, ref: Ref) -> Booking:
    """The caller's booking: anyone else's is not found, as one that does not exist."""
    booking = (
        Booking.objects.filter(ref=ref[:64], user=request.auth).select_related("voucher").first()
    )
    if booking is None:
        raise Http404("You have no such booking.")
    return booking


@router.get("/me", response={200: MeOut, **READ_REFUSALS}, summary="Who you are")
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
        labels=getattr(body, "seats", []),
        best=getattr(body, "best", None),
        admission=admission,
        wheelchair=body.wheelchair,
    )
    return Status(201, booking_data(booking))


@router.get("/bookings", response={200: list[BookingOut], **READ_REFUSALS}, summary="Your bookings")
def bookings(request):
    """The newest first, at most 100."""
    mine = Booking.objects.filter(user=request.auth).order_by("-created_at", "-pk")[:100]
    return [booking_data(booking) for booking in mine]


@router.get(
    "/bookings/{ref}",
    response={200: BookingDetailOut, 404: Problem, **READ_REFUSALS},
    summary="A booking and its tickets",
)
def booking(request, ref: Ref):
    return booking_detail(_mine(request, ref))


@router.post(
    "/bookings/{ref}/tickets",
    response={200: BookingDetailOut, **REFUSALS},
    summary="Choose ticket types for a held booking's seats",
)
@decorate_view(idempotent)
def choose_tickets(request, ref: Ref, body: TicketsIn):
    """A ticket type (by id, from the showtime's prices) per seat; seats left out keep theirs.
    The booking is priced again."""
    choices = {label: str(type_id) for label, type_id in body.choices.items()}
    checkout.choose_tickets(booking=_mine(request, ref), choices=choices)
    return booking_detail(_mine(request, ref))


@router.post(
    "/bookings/{ref}/voucher",
    response={200: BookingDetailOut, **REFUSALS},
    summary="Redeem a voucher on a held booking",
)
@decorate_view(idempotent)
def apply_voucher(request, ref: Ref, body: VoucherIn):
    """Refused with `voucher_refused` (409) when it is expired, used up or for another show."""
    checkout.apply_voucher(booking=_mine(request, ref), code=body.code)
    return booking_detail(_mine(request, ref))


@router.delete(
    "/bookings/{ref}/voucher",
    response={200: BookingDetailOut, **REFUSALS},
    summary="Take the voucher off a held booking",
)
def remove_voucher(request, ref: Ref):
    """Taking off a voucher the booking does not have changes nothing: the same answer."""
    if _mine(request, ref).voucher_id is not None:
        checkout.remove_voucher(booking=_mine(request, ref))
    return booking_detail(_mine(request, ref))


@router.post(
    "/bookings/{ref}/cancel",
    response={200: CancelOut, **REFUSALS},
    summary="Release a hold, or cancel a booking with its refund",
)
@decorate_view(idempotent)
def cancel(request, ref: Ref):
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
def pay(request, ref: Ref, body: PayIn):
    """Records the attempt, then opens the provider's page; only the provider's answer confirms
    the booking. With Stripe the `url` is this site's checkout page running Stripe.js: open it in
    a browser (a web view), as card details and 3-D Secure stay with Stripe. With `total`, a
    booking whose total has changed since is refused (409, `price_changed`) and nothing is
    charged."""
    booking = _mine(request, ref)
    url = services.start_payment(
        booking=booking,
        expected=None if body.total is None else Decimal(body.total),
        return_url=request.build_absolute_uri(reverse("bookings:paid", args=[booking.ref])),
        cancel_url=request.build_absolute_uri(booking.get_absolute_url()),
    )
    return Status(201, {"url": url, "booking": booking_data(_mine(request, ref))})
