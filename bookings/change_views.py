"""The buyer's two choices when their screening changed (bookings.services.access_changes):
each link a GET that shows what would happen, with one POST button. A link works only for the
booking's owner, signed in: it moves money and seats, and an email can be forwarded. Someone
else's, or an altered, link is a 404; a choice made already is a 409 that says which."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bookings.errors import BookingError, NoSameAccess
from bookings.models import Booking, ChangeNotice
from bookings.services import access_changes
from cinema.models import Showtime
from cinema.money import format_money
from infra.domain import http_status
from infra.inputs import whole_number


def _notice(request, ref: str, token: str) -> ChangeNotice:
    notice = access_changes.notice_for(ref=ref, token=token, user=request.user)
    if notice is None:
        raise Http404("No such link.")
    return notice


def _page(request, notice: ChangeNotice, *, choice: str, error: BookingError | None = None):
    answered = None
    if error is None:
        try:
            access_changes.check_open(notice)
        except BookingError as closed:
            answered = closed
    shown = error or answered
    context = {
        "notice": notice,
        "change": notice.change,
        "booking": notice.booking,
        "choice": choice,
        "error": shown,
        "open": answered is None,
        "access": access_changes.access_words(notice.change.access),
        "choices": access_changes.move_choices(notice=notice)
        if choice == "move" and answered is None
        else [],
        "move_path": access_changes.choice_path(notice, "move"),
        "refund_path": access_changes.choice_path(notice, "refund"),
    }
    status = http_status(shown) if shown else 200
    return render(request, "bookings/screening_change.html", context, status=status)


def _done(request, notice: ChangeNotice, message: str) -> HttpResponseRedirect:
    messages.success(request, message)
    response = HttpResponseRedirect(notice.booking.get_absolute_url())
    response.status_code = 303
    return response


@login_required
@require_http_methods(["GET", "POST"])
def change_move(request, ref: str, token: str):
    notice = _notice(request, ref, token)
    if request.method == "GET":
        return _page(request, notice, choice="move")
    showtime_id = whole_number(request.POST.get("showtime", ""))
    target = None if showtime_id is None else Showtime.objects.filter(pk=showtime_id).first()
    try:
        if target is None:
            raise NoSameAccess("Choose one of the screenings listed, or take the full refund.")
        booking = access_changes.move_booking(notice=notice, to=target, user=request.user)
    except BookingError as error:
        notice.refresh_from_db()
        notice.booking.refresh_from_db()
        return _page(request, notice, choice="move", error=error)
    return _done(
        request, notice, f"Your booking has moved to {booking.showtime}. New tickets are below."
    )


@login_required
@require_http_methods(["GET", "POST"])
def change_refund(request, ref: str, token: str):
    notice = _notice(request, ref, token)
    if request.method == "GET":
        return _page(request, notice, choice="refund")
    try:
        refund = access_changes.refund_changed_booking(notice=notice, user=request.user)
    except BookingError as error:
        notice.refresh_from_db()
        notice.booking.refresh_from_db()
        return _page(request, notice, choice="refund", error=error)
    amount = format_money(refund.amount)
    notice.booking.refresh_from_db()
    if notice.booking.status == Booking.Status.CANCELLED:
        return _done(
            request, notice, f"Your booking is refunded in full: {amount} goes back to you."
        )
    # The tickets passed on stay with their holders.
    seats = ", ".join(refund.seats)
    return _done(
        request, notice, f"Your tickets for {seats} are refunded: {amount} goes back to you."
    )
