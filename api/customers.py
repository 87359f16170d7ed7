"""What a signed-in customer does: who they are, holding seats, their bookings, cancelling,
moving a paid booking or passing its tickets on, a sold-out showtime's waiting list. Each calls
the service the pages call, so the same rules say no with the same codes."""

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
    DeviceIn,
    ExchangeIn,
    ExchangeOut,
    HoldIn,
    MeOut,
    PassOnIn,
    PayIn,
    PaymentOut,
    Problem,
    Ref,
    TicketsIn,
    TransferOut,
    VoucherIn,
    WaitlistIn,
    WaitlistOut,
)
from bookings import checkout, services
from bookings.errors import NotWaiting
from bookings.models import Booking, Transfer, WaitlistEntry
from bookings.selectors import waitlist_entry
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
        "offered": services.is_offer(booking),
        "voucher": booking.voucher.code if booking.voucher_id else None,
        "discount": f"{booking.discount:.2f}",
        "tickets": tickets,
        "devices": [
            {
                "id": loan.pk,
                "kind": loan.kind,
                "name": loan.get_kind_display(),
                "returned": loan.returned_at is not None,
            }
            for loan in booking.devices.all()
        ],
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
    "/bookings/{ref}/devices",
    response={201: BookingDetailOut, **REFUSALS},
    summary="Borrow an access device with a booking",
)
@decorate_view(idempotent)
def add_device(request, ref: Ref, body: DeviceIn):
    """One device per seat, free, collected at the door and handed back after the show; held
    or paid bookings, until the showtime starts (then `booking_closed`, 409). Refused with
    `device_unavailable` (409) when the hall has none of that kind left for the showtime (see
    `/showtimes/{id}/devices`). Added to a paid booking, the buyer is emailed the change."""
    services.add_device(booking=_mine(request, ref), kind=body.kind, actor=request.auth)
    return Status(201, booking_detail(_mine(request, ref)))


@router.delete(
    "/bookings/{ref}/devices/{device_id}",
    response={200: BookingDetailOut, **REFUSALS},
    summary="Give back an access device before the show",
)
def remove_device(request, ref: Ref, device_id: int):
    """`device_id` is the device's `id` in the booking's `devices`; one the booking does not
    have (or was handed back) is an `invalid_request`."""
    services.remove_device(booking=_mine(request, ref), loan_id=device_id, actor=request.auth)
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


@router.post(
    "/bookings/{ref}/exchange",
    response={201: ExchangeOut, **REFUSALS},
    summary="Move a paid booking to other seats, of this showtime or another of the film",
)
@decorate_view(idempotent)
def exchange(request, ref: Ref, body: ExchangeIn):
    """Holds the new seats as a booking that replaces this one once confirmed; this one does not
    change until then. If it costs more, pay its `amount` (`/bookings/{new}/pay`); otherwise
    confirm it (`/bookings/{new}/exchange/confirm`) and the difference is refunded. Before the
    refund cut-off only (`booking_closed`); seats taken are `seats_unavailable`."""
    new = services.start_exchange(
        booking=_mine(request, ref),
        user=request.auth,
        showtime=showtime_or_404(body.showtime),
        labels=body.seats,
    )
    return Status(201, exchange_data(new))


def exchange_data(booking: Booking) -> dict:
    return {
        **booking_data(booking),
        "exchange_of": booking.exchange_of.ref,
        "difference": f"{services.exchange_difference(booking):.2f}",
    }


@router.post(
    "/bookings/{ref}/exchange/confirm",
    response={200: BookingDetailOut, **REFUSALS},
    summary="Complete an exchange that costs nothing more",
)
@decorate_view(idempotent)
def confirm_exchange(request, ref: Ref):
    """All at once: new tickets, the old ones void, the old booking `exchanged`, the difference
    refunded. One that costs more is an `invalid_request` (pay it instead); a hold that ran out,
    `hold_lost`, with nothing changed."""
    services.confirm_exchange(booking=_mine(request, ref))
    return booking_detail(_mine(request, ref))


def transfer_data(transfer: Transfer) -> dict:
    return {
        "ref": transfer.ref,
        "seats": transfer.seats,
        "email": transfer.email,
        "status": transfer.status,
        "created_at": transfer.created_at,
    }


@router.post(
    "/bookings/{ref}/pass-on",
    response={201: TransferOut, **REFUSALS},
    summary="Pass tickets of a paid booking on to someone else, by email",
)
@decorate_view(idempotent)
def pass_on(request, ref: Ref, body: PassOnIn):
    """For nothing: their codes are void at once, and the receiver is emailed new ones and a link
    to add them to their account. Limits: `transfer_limit_reached`; a ticket used or passed on
    already, or passing to yourself, `transfer_refused`."""
    transfer = services.pass_on_tickets(
        booking=_mine(request, ref), labels=body.seats, email=body.email
    )
    return Status(201, transfer_data(transfer))


@router.get(
    "/bookings/{ref}/transfers",
    response={200: list[TransferOut], 404: Problem, **READ_REFUSALS},
    summary="The tickets this booking has passed on",
)
def transfers(request, ref: Ref):
    return [transfer_data(each) for each in _mine(request, ref).transfers.order_by("created_at")]


@router.delete(
    "/bookings/{ref}/transfers/{transfer_ref}",
    response={200: TransferOut, **REFUSALS},
    summary="Take back tickets passed on that nobody has claimed",
)
def take_back(request, ref: Ref, transfer_ref: Ref):
    """The codes sent are void and the booking gets new ones; claimed or used tickets stay with
    their receiver (`booking_closed`, `transfer_refused`). Taking back twice changes nothing."""
    transfer = _mine(request, ref).transfers.filter(ref=transfer_ref).first()
    if transfer is None:
        raise Http404("This booking passed no such tickets on.")
    return transfer_data(services.cancel_transfer(transfer=transfer))


def waitlist_data(entry: WaitlistEntry) -> dict:
    offer = entry.booking if entry.status == WaitlistEntry.Status.OFFERED else None
    return {
        "showtime": entry.waitlist_id,
        "seats": entry.seats,
        "categories": list(entry.categories),
        "status": entry.status,
        "place": getattr(entry, "place", None),
        "joined_at": entry.joined_at,
        "offer": offer
        and {"booking": offer.ref, "seats": list(offer.seat_labels), "until": offer.expires_at},
    }


def _my_place(request, showtime_id: int) -> WaitlistEntry:
    entry = waitlist_entry(user=request.auth, showtime=showtime_or_404(showtime_id))
    if entry is None:
        raise NotWaiting("You are not on this showtime's waiting list.")
    return entry


@router.post(
    "/showtimes/{showtime_id}/waitlist",
    response={201: WaitlistOut, **REFUSALS},
    summary="Join a sold-out showtime's waiting list",
)
@decorate_view(idempotent)
def join_waitlist(request, showtime_id: int, body: WaitlistIn):
    """Only while the showtime sells and has not that many seats free (`seats_available`, 409),
    once per account (`already_waiting`). Seats that come back are offered in the order people
    joined: held for you as a pending booking (`offer`), emailed, until the claim window ends."""
    services.join_waitlist(
        user=request.auth,
        showtime=showtime_or_404(showtime_id),
        seats=body.seats,
        categories=body.categories,
    )
    return Status(201, waitlist_data(_my_place(request, showtime_id)))


@router.get(
    "/showtimes/{showtime_id}/waitlist",
    response={200: WaitlistOut, 404: Problem, 409: Problem, **READ_REFUSALS},
    summary="Your place on a showtime's waiting list, or the seats it offers you",
)
def my_waitlist_place(request, showtime_id: int):
    """`not_waiting` (409) when you are not on it (any more: an offer claimed or lapsed ends
    the place)."""
    return waitlist_data(_my_place(request, showtime_id))


@router.delete(
    "/showtimes/{showtime_id}/waitlist",
    response={200: WaitlistOut, **REFUSALS},
    summary="Leave a showtime's waiting list",
)
def leave_waitlist(request, showtime_id: int):
    """Seats on offer to you go to the next in line; `not_waiting` (409) when you are not on it."""
    entry = services.leave_waitlist(user=request.auth, showtime=showtime_or_404(showtime_id))
    return waitlist_data(entry)
