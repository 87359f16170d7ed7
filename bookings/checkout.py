"""Checkout of a held booking: a ticket type per seat and a voucher, priced by cinema.pricing.

The booking keeps its quote (`Booking.lines`, `amount`, `discount`) as it was when the buyer
chose: that is what they are shown and what they pay, whatever happens to the price list after.

A voucher's uses are counted by one conditional UPDATE (`uses < max_uses`), so however many
buyers redeem its last use at once, exactly one gets it. A booking holds its use while it is
PENDING or CONFIRMED; cancelling or expiring gives it back (`give_back_voucher`).
"""

from django.db import transaction
from django.db.models import F

from audit.services import Kind, record
from bookings.errors import BookingClosed, InvalidRequest
from bookings.models import Booking
from cinema.models import Voucher, normalise_code
from cinema.plans import get_plan
from cinema.pricing import PricingError, Quote, check_voucher, default_choices, quote
from infra.inputs import whole_number


class VoucherRefused(BookingClosed):
    """A voucher that cannot be used now (expired, used up, another showtime)."""

    code = "voucher_refused"


def price_selection(*, booking: Booking, labels: list[str], voucher: Voucher | None) -> Quote:
    """The quote for `labels` on the booking's showtime: seats it already had keep their ticket
    type, new ones get the default. Raises PricingError."""
    showtime = booking.showtime
    choices = default_choices(showtime=showtime, labels=labels)
    kept = Quote.from_data(booking.lines).choices()
    try:
        return quote(
            showtime=showtime,
            choices={label: kept.get(label, choices[label]) for label in labels},
            kinds=_kinds(booking, labels),
            voucher=voucher,
        )
    except PricingError:
        if not kept:
            raise
    # A kept type that is no longer sold (the list changed): every seat starts again.
    return quote(showtime=showtime, choices=choices, kinds=_kinds(booking, labels), voucher=voucher)


def keep_quote(booking: Booking, priced: Quote) -> None:
    """Put the quote on the booking (saved by the caller)."""
    booking.lines = priced.as_data()
    booking.amount = priced.total
    booking.discount = priced.discount


def choose_tickets(*, booking: Booking, choices: dict[str, str]) -> Booking:
    """Set the ticket type of some of the booking's seats (`label -> ticket type id`, as posted)
    and price the booking again; the others keep theirs."""
    with transaction.atomic():
        booking = _pending(booking)
        wanted = Quote.from_data(booking.lines).choices()
        for label, type_id in choices.items():
            if label not in wanted:
                raise InvalidRequest(f"{label[:8]} is not a seat of this booking.")
            wanted[label] = whole_number(type_id)
            if wanted[label] is None:
                raise InvalidRequest("Choose a ticket type from the list.")
        priced = _quote(booking, wanted, voucher=booking.voucher)
        keep_quote(booking, priced)
        booking.save(update_fields=["lines", "amount", "discount", "updated_at"])
        _audit(
            Kind.TICKETS_CHOSEN,
            booking,
            tickets={line.seat: line.type_name for line in priced.lines},
            amount=str(booking.amount),
        )
    return booking


def apply_voucher(*, booking: Booking, code: str) -> Booking:
    """Redeem `code` on the booking: checked, priced, its use counted, audited; or refused with
    nothing changed."""
    code = normalise_code(code)
    if not code:
        raise InvalidRequest("Type a voucher code.")
    if len(code) > 32:
        raise InvalidRequest("That is not a voucher code.")
    with transaction.atomic():
        booking = _pending(booking)
        if booking.voucher_id is not None:
            if booking.voucher.code == code:
                raise InvalidRequest(f"{code} is already applied to this booking.")
            raise InvalidRequest(
                f"This booking already has the voucher {booking.voucher.code}: remove it first."
            )
        voucher = Voucher.objects.filter(code=code).first()
        if voucher is None:
            raise InvalidRequest(f"There is no voucher {code}. Check the code and try again.")
        try:
            check_voucher(voucher=voucher, showtime=booking.showtime)
        except PricingError as error:
            raise VoucherRefused(str(error)) from None
        priced = _quote(booking, Quote.from_data(booking.lines).choices(), voucher=voucher)
        taken = Voucher.objects.filter(pk=voucher.pk, uses__lt=F("max_uses")).update(
            uses=F("uses") + 1
        )
        if not taken:
            raise VoucherRefused(f"{code} has been used up.")
        booking.voucher = voucher
        keep_quote(booking, priced)
        booking.save(update_fields=["voucher", "lines", "amount", "discount", "updated_at"])
        _audit(
            Kind.VOUCHER_REDEEMED,
            booking,
            voucher=code,
            discount=str(booking.discount),
            amount=str(booking.amount),
        )
    return booking


def remove_voucher(*, booking: Booking) -> Booking:
    with transaction.atomic():
        booking = _pending(booking)
        if booking.voucher_id is None:
            raise InvalidRequest("This booking has no voucher.")
        give_back_voucher(booking, reason="removed")
        booking.voucher = None
        priced = _quote(booking, Quote.from_data(booking.lines).choices(), voucher=None)
        keep_quote(booking, priced)
        booking.save(update_fields=["voucher", "lines", "amount", "discount", "updated_at"])
    return booking


def give_back_voucher(booking: Booking, *, reason: str) -> None:
    """The booking no longer holds its voucher's use (cancelled, expired, removed): one more
    use for someone else. Inside the caller's transaction, with the booking locked."""
    if booking.voucher_id is None:
        return
    Voucher.objects.filter(pk=booking.voucher_id, uses__gt=0).update(uses=F("uses") - 1)
    _audit(Kind.VOUCHER_RETURNED, booking, voucher=booking.voucher.code, reason=reason)


def take_voucher_again(booking: Booking) -> None:
    """A booking that had given its use back is confirmed after all (a late payment): it
    counts again, even past the maximum, since the buyer has paid the discounted price."""
    if booking.voucher_id is None:
        return
    Voucher.objects.filter(pk=booking.voucher_id).update(uses=F("uses") + 1)
    _audit(Kind.VOUCHER_REDEEMED, booking, voucher=booking.voucher.code, late=True)


def _pending(booking: Booking) -> Booking:
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related(
            "voucher", "showtime__movie", "showtime__auditorium", "showtime__price_list"
        )
        .get(pk=booking.pk)
    )
    if booking.status != Booking.Status.PENDING:
        raise BookingClosed(
            f"This booking is {booking.get_status_display().lower()}: its tickets cannot change."
        )
    if booking.exchange_of_id is not None:
        # Its amount is the difference from the booking it replaces, priced with these types.
        raise BookingClosed(
            "An exchange keeps the ticket types and price of the booking it replaces: to change "
            "them, change that booking's seats again, or cancel it."
        )
    return booking


def _quote(booking: Booking, choices: dict[str, int], *, voucher: Voucher | None) -> Quote:
    try:
        return quote(
            showtime=booking.showtime,
            choices=choices,
            kinds=_kinds(booking, choices),
            voucher=voucher,
        )
    except PricingError as error:
        raise InvalidRequest(str(error)) from None


def _kinds(booking: Booking, labels) -> dict[str, str]:
    """The seat category of each of `labels` that is a seat of the hall (from the cached plan)."""
    seats = get_plan(booking.showtime.auditorium).seats_by_label
    return {label: seats[label].kind for label in labels if label in seats}


def _audit(kind: str, booking: Booking, **detail) -> None:
    record(
        kind,
        actor=booking.user,
        showtime_id=booking.showtime_id,
        booking_ref=booking.ref,
        seats=booking.seat_labels,
        detail=detail,
    )
