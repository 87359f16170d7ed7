from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from redis.exceptions import RedisError

from bookings import checkout, services, tickets
from bookings.errors import (
    BookingError,
    InvalidRequest,
    PaymentFailed,
    WaitingRoomRequired,
)
from bookings.models import Booking, Refund, Transfer, VoidTicket
from bookings.ratelimit import check_rate
from bookings.selectors import (
    open_booking,
    received_transfers,
    user_bookings,
    waitlist_entries,
    waitlist_entry,
)
from bookings.services import BestSeats, access_changes
from cinema.access import release_time
from cinema.models import Seat, Showtime
from cinema.money import format_money
from cinema.plans import get_plan
from cinema.pricing import Quote, showtime_card
from infra.domain import http_status
from infra.inputs import amount, whole_number
from infra.metrics import count_hold, time_hold
from seats.seatmap import SeatState, SeatStates, read_seat_states, view_seat_map
from waitingroom import services as waiting_room

# A gateway's event is a few kilobytes; anything much larger is not one.
WEBHOOK_MAX_BYTES = 64 * 1024


def _see_other(url: str) -> HttpResponseRedirect:
    """303: after a POST, the browser follows with a GET."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _leave_for(request, url: str) -> HttpResponse:
    """Go to the page at `url`: a 303, or for htmx (which would follow a redirect inside the
    page and swap nothing) HX-Redirect, so the browser loads it."""
    return HttpResponseClientRedirect(url) if request.htmx else _see_other(url)


def _sign_in_first(back_to):
    """`login_required` for a POST-only view: a signed-out visitor is sent to sign in and then
    back to `back_to(request, **kwargs)`, the page the action was taken on. Sign-in ends with a
    GET to its `next`, which the POST-only URL itself would answer with 405."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.is_authenticated:
                return view(request, *args, **kwargs)
            return _leave_for(request, redirect_to_login(back_to(request, **kwargs)).url)

        return wrapper

    return decorator


def _showtime_or_404(showtime_id: int) -> Showtime:
    return get_object_or_404(
        Showtime.objects.select_related("movie", "auditorium", "price_list", "room"),
        pk=showtime_id,
    )


def _says_wheelchair(request) -> bool:
    """The buyer said they need a wheelchair space (the seat page's question; no proof asked)."""
    return (request.POST if request.method == "POST" else request.GET).get("wheelchair") == "1"


def _seat_states(showtime: Showtime, *, only: set[str] | None = None) -> SeatStates:
    return read_seat_states(showtime=showtime, plan=get_plan(showtime.auditorium), only=only)


def _render_showtime(
    request,
    showtime: Showtime,
    *,
    states: SeatStates | None,
    error=None,
    selected=(),
    suggestion: BestSeats | None = None,
    replaced=(),
    waitlist_error=None,
    exchanging: Booking | None = None,
    seat_list=False,
    status=200,
):
    """The seat map page, or for htmx just the map and the message (`states`: the seat states
    this request read, if any; `waitlist_error`: a refusal of the waiting list's forms;
    `exchanging`: the paid booking the seats picked here are to replace; `seat_list`: the list
    mode asked for, shown open on the page, or alone for htmx)."""
    seat_map = view_seat_map(showtime=showtime, user=request.user, states=states)
    conflicts = getattr(error, "conflicts", [])
    # Only real seats are ticked again: whatever else the request carried is not echoed.
    seats = get_plan(showtime.auditorium).seats_by_label
    selected = {label for label in selected if label in seats}
    context = {
        "showtime": showtime,
        "seat_map": seat_map,
        "error": error.message if error else None,
        "conflicts": conflicts,
        "offer": getattr(error, "offer", None),
        "queue_url": reverse("waitingroom:queue", args=[showtime.pk])
        if isinstance(error, WaitingRoomRequired)
        else None,
        "selected": set(selected) - set(conflicts) or seat_map.mine,
        "max_seats": settings.MAX_SEATS_PER_BOOKING,
        "wheelchair": _says_wheelchair(request),
        "kept_until": release_time(showtime) if seat_map.counts[SeatState.KEPT] else None,
        "exchanging": exchanging,
        "seat_list": seat_list,
    }
    if request.htmx and not seat_list:
        return render(request, "bookings/_hold_result.html", context, status=status)
    # Seats of theirs on the map: offer the way back to paying for them.
    context["held_booking"] = (
        open_booking(user=request.user, showtime=showtime) if seat_map.mine else None
    )
    if request.htmx:
        return render(request, "seats/_seat_list_form.html", context, status=status)
    card = showtime_card(showtime)
    rating = showtime.movie.age_rating
    default = card.default_for(rating)
    context |= {
        "offers": card.offers_for(rating),
        "price_list_name": card.name,
        "from_price": card.from_price(rating),
        "default_offer": default,
        # Each category on this map that costs more, for the price key and the running total.
        "supplements": [
            (kind, Seat.Kind(kind).label, card.supplement(kind))
            for kind in sorted(seat_map.kinds)
            if card.supplement(kind)
        ],
        "best_choices": range(1, settings.MAX_SEATS_PER_BOOKING + 1),
        "suggestion": suggestion,
        "replaced": [
            label
            for label in replaced
            if label in seats and not (suggestion and label in suggestion.labels)
        ],
        "queue_first": _queue_first(request, showtime),
        "live": True,
        "room_presence": waiting_room.is_on(showtime) and request.user.is_authenticated,
    }
    # A refused hold's answer is about the hold: it stays as cheap as the hot path allows.
    if request.method == "GET" or waitlist_error:
        context |= _waitlist_context(request, showtime, seat_map=seat_map, error=waitlist_error)
    return render(request, "bookings/showtime.html", context, status=status)


def _waitlist_context(request, showtime: Showtime, *, seat_map, error) -> dict:
    """The customer's place on the waiting list (or offer), or the form to join it while the
    showtime sells and has fewer seats free than one booking may take."""
    entry = waitlist_entry(user=request.user, showtime=showtime)
    free = seat_map.counts.get(SeatState.AVAILABLE, 0)
    selling = showtime.is_upcoming and showtime.on_sale and not showtime.sale_opens_later
    return {
        "waitlist_entry": entry,
        "waitlist_join": entry is None and selling and free < settings.MAX_SEATS_PER_BOOKING,
        "waitlist_free": free,
        "waitlist_kinds": [(kind, Seat.Kind(kind).label) for kind in sorted(seat_map.kinds)],
        "waitlist_error": error.message if error else None,
    }


def _queue_first(request, showtime: Showtime) -> str | None:
    """The queue's URL when the showtime sells through its waiting room and this visitor has
    not been let in: the page says so before any seat is picked, not at the Hold button."""
    token = request.COOKIES.get(waiting_room.cookie_name(showtime.pk), "")
    try:
        let_in = waiting_room.admitted(showtime=showtime, user=request.user, token=token)
    except RedisError:
        let_in = False
    return None if let_in else reverse("waitingroom:queue", args=[showtime.pk])


@require_GET
def showtime_detail(request, showtime_id: int):
    """The seat map. `?seats=A3&seats=A4` ticks a selection (as when coming back from signing
    in); `?best=2` ticks the best seats free now, to keep or choose again: nothing is held."""
    showtime = _showtime_or_404(showtime_id)
    exchanging = _exchanging(request, request.GET)
    states = _seat_states(showtime)
    best = request.GET.get("best")
    if best is None:
        selected = request.GET.getlist("seats")[: settings.MAX_SEATS_PER_BOOKING]
        return _render_showtime(
            request,
            showtime,
            states=states,
            selected=selected,
            exchanging=exchanging,
            seat_list=request.GET.get("list") == "1",
        )
    try:
        count = whole_number(best, digits=4)
        if count is None:
            raise InvalidRequest("Best available needs a number of seats.")
        suggestion = services.suggest_best_seats(
            showtime=showtime, count=count, states=states, wheelchair=_says_wheelchair(request)
        )
    except BookingError as error:
        return _render_showtime(
            request,
            showtime,
            states=states,
            error=error,
            exchanging=exchanging,
            status=http_status(error),
        )
    # With JavaScript the best-available form carries the seats ticked on the map: the answer
    # names the ones the suggestion replaces.
    replaced = request.GET.getlist("seats")[: settings.MAX_SEATS_PER_BOOKING]
    return _render_showtime(
        request,
        showtime,
        states=states,
        selected=suggestion.labels,
        suggestion=suggestion,
        replaced=replaced,
        exchanging=exchanging,
    )


def _exchanging(request, data) -> Booking | None:
    """The user's paid booking named by `exchange` in `data`, whose seats the map is picking
    new ones for (another user's ref is 404, like their booking page)."""
    ref = data.get("exchange")
    if not ref or not request.user.is_authenticated:
        return None
    return _my_booking(request, ref[:32])


def _hold_request(request) -> tuple[list[str], int | None]:
    """The seats, or the number of best available seats, that the form asks for.

    `services.hold_seats` counts every request against the hold rate limit; a malformed one
    never gets there, so it is counted here instead, and a flood of them is slowed down too.
    """
    labels = request.POST.getlist("seats")
    best = request.POST.get("best")
    if best is None:
        return labels, None
    count = whole_number(best, digits=4)
    if count is None:
        check_rate(user=request.user, action="hold")
        raise InvalidRequest("Best available needs a number of seats.")
    return labels, count


def _back_to_the_selection(request, showtime_id: int) -> str:
    return _showtime_or_404(showtime_id).selection_url(request.POST.getlist("seats"))


@require_POST
@_sign_in_first(_back_to_the_selection)
@time_hold()
def hold(request, showtime_id: int):
    showtime = _showtime_or_404(showtime_id)
    labels = request.POST.getlist("seats")
    exchanging = _exchanging(request, request.POST)
    states = None
    try:
        labels, best = _hold_request(request)
        if exchanging is not None:
            booking = _start_exchange(request, showtime, exchanging, labels=labels, best=best)
            count_hold("held")
            return _leave_for(request, booking.get_absolute_url())
        # Read once and passed on: the check, the broadcast and a refusal's map use these. A
        # hold of chosen seats reads only the holds of the seats beside them (the lone-seat
        # rule looks there); the map, if refused, reads the rest.
        plan = get_plan(showtime.auditorium)
        beside = None if best else services.seats_beside(plan=plan, labels=labels)
        states = _seat_states(showtime, only=beside)
        booking = services.hold_seats(
            user=request.user,
            showtime=showtime,
            labels=labels,
            best=best,
            states=states,
            admission=request.COOKIES.get(waiting_room.cookie_name(showtime.pk), ""),
            wheelchair=_says_wheelchair(request),
        )
    except BookingError as error:
        count_hold(str(http_status(error)))
        offer = getattr(error, "offer", None)
        return _render_showtime(
            request,
            showtime,
            states=states,
            error=error,
            selected=offer.labels if offer else labels,
            exchanging=exchanging,
            status=http_status(error),
        )
    count_hold("held")
    return _leave_for(request, booking.get_absolute_url())


def _start_exchange(request, showtime: Showtime, exchanging: Booking, *, labels, best) -> Booking:
    if best is not None:
        raise InvalidRequest("Tick the new seats on the map: an exchange moves every ticket.")
    return services.start_exchange(
        booking=exchanging,
        user=request.user,
        showtime=showtime,
        labels=labels,
        admission=request.COOKIES.get(waiting_room.cookie_name(showtime.pk), ""),
    )


def _my_booking(request, ref: str) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related(
            "showtime__movie",
            "showtime__auditorium",
            "showtime__price_list",
            "showtime__room",
            "voucher",
        ),
        ref=ref,
        user=request.user,
    )


def _render_booking(
    request,
    booking: Booking,
    *,
    error: BookingError | None = None,
    error_at: str = "",
    confirming: bool = False,
):
    """The booking page; `error` is said beside the control named by `error_at` ("voucher"), or
    at the top of the checkout."""
    refunds = list(Refund.objects.filter(payment__booking=booking))
    pending = booking.status == Booking.Status.PENDING
    passes = tickets.passes(booking) if booking.status == Booking.Status.CONFIRMED else []
    passing_on = booking.status == Booking.Status.CONFIRMED and booking.showtime.is_upcoming
    transfers = list(booking.transfers.all())
    passed_on = any(transfer.status != Transfer.Status.CANCELLED for transfer in transfers)
    exchange = pending and booking.exchange_of_id is not None
    difference = services.exchange_difference(booking) if exchange else None
    refunds_close_at = services.refunds_close_at(booking.showtime)
    refunds_open = timezone.now() < refunds_close_at
    # An answer said beside its control (a voucher's) is not said again at the top of the page.
    answers = list(messages.get_messages(request))
    context = {
        "booking": booking,
        "page_messages": [answer for answer in answers if answer.extra_tags != "voucher"],
        "voucher_note": next((a.message for a in answers if a.extra_tags == "voucher"), ""),
        "error": error.message if error else None,
        "error_at": error_at,
        "code": request.POST.get("code", "")[:32] if error_at == "voucher" else "",
        "lines": Quote.from_data(booking.lines).lines,
        "offers": showtime_card(booking.showtime).offers_for(booking.showtime.movie.age_rating)
        if pending
        else [],
        "passes": passes,
        "transfers": transfers,
        "pass_on_seats": [ticket.seat for ticket in passes] if passing_on else [],
        "can_take_back": passing_on,
        "screening_change": _screening_change(booking),
        "void": VoidTicket.objects.filter(
            booking_ref=booking.ref, reason=VoidTicket.Reason.REFUNDED
        ).order_by("seat_label"),
        # An offer from the waiting list is held for its whole claim window already.
        "can_extend": pending and not services.is_offer(booking),
        "offer": pending and services.is_offer(booking),
        "confirming": confirming,
        "refunded": sum(refund.amount for refund in refunds),
        # Recorded but not yet done by the gateway (reconciliation sends it again).
        "refund_on_its_way": any(refund.status == Refund.Status.REQUESTED for refund in refunds),
        "can_cancel": booking.status == Booking.Status.CONFIRMED and refunds_open and bool(passes),
        # Cancelling refunds only the tickets the buyer kept: the ones passed on are not theirs.
        "kept": [ticket.seat for ticket in passes] if passed_on else [],
        "can_exchange": booking.status == Booking.Status.CONFIRMED
        and refunds_open
        and not booking.devices.exists()
        and not passed_on,
        "replaced": Booking.objects.select_related("showtime").get(pk=booking.exchange_of_id)
        if exchange
        else None,
        "difference": difference,
        # An exchange's amount is the difference it cost: its tickets are worth what was paid.
        "total": services.paid_for(booking) if booking.exchange_of_id else booking.amount,
        "money_back": -difference if difference is not None and difference < 0 else None,
        "replaced_by": booking.exchanges.filter(status=Booking.Status.CONFIRMED).first()
        if booking.status == Booking.Status.EXCHANGED
        else None,
        # The policy is shown while it can be used: at checkout and on the ticket until then.
        "refunds_open": refunds_open,
        "refunds_close_at": refunds_close_at,
        "refund_cutoff_hours": settings.REFUND_CUTOFF_HOURS,
        "hold_ttl": settings.HOLD_TTL_SECONDS,
        "room_presence": pending and waiting_room.is_on(booking.showtime),
        "devices": list(booking.devices.all()),
        # What can still be added: before the showtime, for a booking that is or may be paid.
        "device_offers": services.devices_left(showtime=booking.showtime)
        if booking.status in services.LIVE_BOOKING and booking.showtime.is_upcoming
        else [],
    }
    status = http_status(error) if error else 200
    return render(request, "bookings/booking.html", context, status=status)


def _screening_change(booking: Booking) -> dict | None:
    """The change to the booking's screening its buyer may still answer, with their links."""
    notice = access_changes.open_notice(booking)
    if notice is None:
        return None
    return {
        "change": notice.change,
        "move_path": access_changes.choice_path(notice, "move"),
        "refund_path": access_changes.choice_path(notice, "refund"),
    }


@require_GET
@login_required
def booking_list(request):
    return render(
        request,
        "bookings/list.html",
        {
            "bookings": user_bookings(user=request.user),
            "waitlist_entries": waitlist_entries(user=request.user),
            "received": received_transfers(user=request.user),
        },
    )


@require_GET
@login_required
def booking_detail(request, ref: str):
    return _render_booking(request, _my_booking(request, ref))


def _booking_action(*, redirect_errors: tuple[type[BookingError], ...] = (), answer_at: str = ""):
    """POST-only, owner-only view that runs `action(booking, request)` and shows the result.

    Success always redirects (Post/Redirect/Get). So do the errors in `redirect_errors`, with
    their message on the booking page: a reload must never send a card again or extend again.
    Other errors answer with their status code on the page itself. Both answers are said beside
    the control named by `answer_at` if any, else at the top of the page (success) or of the
    checkout (error).
    """

    def decorate(action):
        @require_POST
        @_sign_in_first(lambda request, ref: reverse("bookings:detail", args=[ref]))
        def view(request, ref: str):
            booking = _my_booking(request, ref)
            try:
                message = action(booking, request)
            except redirect_errors as error:
                messages.error(request, error.message)
                return _see_other(booking.get_absolute_url())
            except BookingError as error:
                booking.refresh_from_db()
                return _render_booking(request, booking, error=error, error_at=answer_at)
            if message:
                messages.success(request, message, extra_tags=answer_at)
            return _see_other(booking.get_absolute_url())

        view.__name__ = action.__name__
        return view

    return decorate


@require_POST
@_sign_in_first(lambda request, ref: reverse("bookings:detail", args=[ref]))
def pay(request, ref: str):
    """Start paying: record the attempt and send the buyer to the gateway's page (303)."""
    booking = _my_booking(request, ref)
    if booking.status == Booking.Status.CONFIRMED:
        return _see_other(booking.get_absolute_url())
    try:
        url = services.start_payment(
            booking=booking,
            expected=_posted_total(request),
            return_url=request.build_absolute_uri(reverse("bookings:paid", args=[ref])),
            cancel_url=request.build_absolute_uri(booking.get_absolute_url()),
        )
    except PaymentFailed as error:
        messages.error(request, error.message)
        return _see_other(booking.get_absolute_url())
    except BookingError as error:
        booking.refresh_from_db()
        return _render_booking(request, booking, error=error)
    return _see_other(url)


def _posted_total(request) -> Decimal | None:
    """The total the checkout showed when Pay was pressed, if the form sent it."""
    total = request.POST.get("total")
    if total is None:
        return None
    posted = amount(total)
    if posted is None:
        raise InvalidRequest("The total sent with the payment is not an amount.")
    return posted


@require_GET
@login_required
def paid(request, ref: str):
    """Where the gateway sends the buyer back: "confirming your seats" until the gateway's
    webhook has settled the payment, then the ticket (htmx polls this page; it only reads)."""
    payment = services.open_payment(booking_ref=ref, user=request.user)  # before the booking
    booking = _my_booking(request, ref)
    where = services.payment_return(booking=booking, payment=payment, polling=bool(request.htmx))
    if where == services.Return.CHECKOUT:
        return redirect(booking.get_absolute_url())
    return _render_booking(request, booking, confirming=where == services.Return.CONFIRMING)


@csrf_exempt
@require_POST
def payment_webhook(request):
    """The gateway tells us what happened. Only a verified event moves anything; a replay of one
    already acted on changes nothing; every refusal is audited."""
    if len(request.body) > WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "The event is too large."}, status=413)
    try:
        received, outcome = services.receive_webhook(
            payload=request.body,
            headers=request.headers,
            address=request.META.get("REMOTE_ADDR", ""),
        )
    except BookingError as error:
        return JsonResponse({"error": error.message, "code": error.code}, status=http_status(error))
    return JsonResponse({"received": received, "outcome": outcome})


@require_GET
@login_required
def exchange(request, ref: str):
    """Change seats or time: the showtimes of the film the booking may move to, each opening
    its seat map to pick the new seats; 409 with the reason when the booking cannot move."""
    booking = _my_booking(request, ref)
    context = {"booking": booking, "showtimes": [], "error": None}
    try:
        services.check_exchangeable(booking)
    except BookingError as error:
        context["error"] = error.message
        return render(request, "bookings/exchange.html", context, status=http_status(error))
    context["showtimes"] = services.exchange_showtimes(booking=booking)
    return render(request, "bookings/exchange.html", context)


@_booking_action()
def confirm_exchange(booking: Booking, request) -> str:
    services.confirm_exchange(booking=booking)
    return "Your booking is changed: here are your new tickets. The old ones no longer work."


@_booking_action(redirect_errors=(BookingError,))
def extend(booking: Booking, request) -> str:
    services.extend_hold(booking=booking)
    return "Your seats are held for a little longer."


@_booking_action()
def cancel(booking: Booking, request) -> str:
    refund = services.cancel_booking(booking=booking)
    if refund is None:
        return "Your seats have been released."
    return f"Booking cancelled: {format_money(refund.amount)} is on its way back to your card."


@_booking_action(answer_at="pass-on")
def pass_on(booking: Booking, request) -> str:
    """Pass tickets on to someone else: fields `seats` (repeated) and `email`."""
    transfer = services.pass_on_tickets(
        booking=booking,
        labels=request.POST.getlist("seats")[: settings.MAX_SEATS_PER_BOOKING],
        email=request.POST.get("email", "")[:254],
    )
    return (
        f"{', '.join(transfer.seats)} passed on to {transfer.email}: we have emailed them their "
        "tickets, and your codes for these seats no longer work."
    )


@_booking_action(answer_at="pass-on")
def take_back(booking: Booking, request) -> str:
    """Take back tickets passed on that nobody has claimed: field `transfer` (its ref)."""
    transfer = booking.transfers.filter(ref=request.POST.get("transfer", "")[:20]).first()
    if transfer is None:
        raise InvalidRequest("Say which tickets passed on to take back.")
    transfer = services.cancel_transfer(transfer=transfer)
    return f"{', '.join(transfer.seats)} taken back: here are new tickets for them."


def _transfer_or_404(request, ref: str) -> Transfer:
    """Tickets passed on, as their sender, their receiver, or (until claimed) whoever holds the
    emailed link sees them; anyone else gets a 404."""
    transfer = get_object_or_404(
        Transfer.objects.select_related(
            "booking__showtime__movie", "booking__showtime__auditorium", "sender"
        ),
        ref=ref,
    )
    if transfer.status == Transfer.Status.CLAIMED and request.user.pk not in {
        transfer.receiver_id,
        transfer.sender_id,
    }:
        raise Http404("No such tickets.")
    return transfer


def _render_transfer(request, transfer: Transfer, *, error: BookingError | None = None):
    mine = transfer.receiver_id == request.user.pk
    context = {
        "transfer": transfer,
        "booking": transfer.booking,
        "mine": mine,
        "can_claim": transfer.status == Transfer.Status.SENT
        and transfer.sender_id != request.user.pk,
        "passes": tickets.transfer_passes(transfer) if mine else [],
        "sender": transfer.sender.get_full_name() or transfer.sender.email,
        "error": error.message if error else None,
    }
    return render(
        request, "bookings/transfer.html", context, status=http_status(error) if error else 200
    )


@require_GET
@login_required
def transfer_detail(request, ref: str):
    """Tickets passed on: the receiver's tickets, or the way to claim them."""
    return _render_transfer(request, _transfer_or_404(request, ref))


@require_POST
@_sign_in_first(lambda request, ref: reverse("bookings:transfer", args=[ref]))
def claim_transfer(request, ref: str):
    """Add the tickets passed on to the signed-in account (the address they went to)."""
    transfer = _transfer_or_404(request, ref)
    try:
        services.claim_transfer(transfer=transfer, user=request.user)
    except BookingError as error:
        transfer.refresh_from_db()
        return _render_transfer(request, transfer, error=error)
    messages.success(request, "The tickets are in your bookings now.")
    return _see_other(transfer.get_absolute_url())


@_booking_action()
def choose_tickets(booking: Booking, request) -> None:
    """Choose each seat's ticket type (fields `type-<seat>`); the total is priced again."""
    prefix = "type-"
    choices = {
        key[len(prefix) :]: value
        for key, value in request.POST.items()
        if key.startswith(prefix) and len(key) <= 20
    }
    if not choices:
        raise InvalidRequest("Choose a ticket type for your seats.")
    checkout.choose_tickets(booking=booking, choices=choices)


@_booking_action(answer_at="voucher")
def voucher(booking: Booking, request) -> str:
    booking = checkout.apply_voucher(booking=booking, code=request.POST.get("code", ""))
    return f"{booking.voucher.code} applied: {booking.voucher.label}."


@_booking_action(answer_at="devices")
def add_device(booking: Booking, request) -> str:
    loan = services.add_device(
        booking=booking, kind=request.POST.get("kind", ""), actor=request.user
    )
    return f"{loan.get_kind_display()} added: collect it at the door."


@_booking_action(answer_at="devices")
def remove_device(booking: Booking, request) -> str:
    loan = whole_number(request.POST.get("loan", ""), digits=12)
    if loan is None:
        raise InvalidRequest("Say which device to remove.")
    services.remove_device(booking=booking, loan_id=loan, actor=request.user)
    return "The device is removed."


@_booking_action(answer_at="voucher")
def remove_voucher(booking: Booking, request) -> str:
    checkout.remove_voucher(booking=booking)
    return "The voucher is removed."


def _ticket_file(request, ref: str, *, render, content_type: str, filename: str):
    booking = _my_booking(request, ref)
    if booking.status != Booking.Status.CONFIRMED:
        return HttpResponse(
            f"Booking {booking.ref} is {booking.get_status_display().lower()}: it has no tickets.",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(render(booking), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename.format(ref=booking.ref)}"'
    return response


@require_GET
@login_required
def tickets_pdf(request, ref: str):
    """The tickets to print or keep: a page per seat with its QR code."""
    return _ticket_file(
        request,
        ref,
        render=tickets.tickets_pdf,
        content_type="application/pdf",
        filename="tickets-{ref}.pdf",
    )


@require_GET
@login_required
def event_ics(request, ref: str):
    """The showing as a calendar event ("Add to calendar")."""
    return _ticket_file(
        request,
        ref,
        render=tickets.calendar_event,
        content_type="text/calendar; charset=utf-8",
        filename="{ref}.ics",
    )


def _back_to_showtime(request, showtime_id: int) -> str:
    return reverse("bookings:showtime", args=[showtime_id])


@require_POST
@_sign_in_first(_back_to_showtime)
def join_waitlist(request, showtime_id: int):
    """Join the showtime's waiting list: field `seats` (how many), `categories` repeated (the
    seat kinds accepted; none: any)."""
    showtime = _showtime_or_404(showtime_id)
    try:
        seats = whole_number(request.POST.get("seats", ""), digits=4)
        if seats is None:
            raise InvalidRequest("Say how many seats you want.")
        categories = [kind[:20] for kind in request.POST.getlist("categories")[:10]]
        entry = services.join_waitlist(
            user=request.user, showtime=showtime, seats=seats, categories=categories
        )
    except BookingError as error:
        return _waitlist_refused(request, showtime, error)
    messages.success(
        request,
        f"You are on the waiting list for {entry.seats} seat{'s' if entry.seats > 1 else ''}. "
        "We will email you when seats come back.",
    )
    return _see_other(_back_to_showtime(request, showtime_id))


def _waitlist_refused(request, showtime: Showtime, error: BookingError):
    """The seat page again, the refusal said beside the waiting list's form."""
    return _render_showtime(
        request,
        showtime,
        states=_seat_states(showtime),
        waitlist_error=error,
        status=http_status(error),
    )


@require_POST
@_sign_in_first(_back_to_showtime)
def leave_waitlist(request, showtime_id: int):
    """Leave the showtime's waiting list (and give up seats it offered)."""
    showtime = _showtime_or_404(showtime_id)
    try:
        services.leave_waitlist(user=request.user, showtime=showtime)
    except BookingError as error:
        return _waitlist_refused(request, showtime, error)
    messages.success(request, "You have left the waiting list.")
    return _see_other(_back_to_showtime(request, showtime_id))
