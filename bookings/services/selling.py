"""Selling held seats: a booking's tickets written and the booking CONFIRMED, in the caller's
transaction; for an exchange, the paid booking it replaces is retired in the same transaction
(its tickets voided, its seats freed, any money it paid beyond the new tickets owed back), so
the buyer has either the old tickets or the new ones, never both and never neither."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from audit.services import Kind
from bookings import checkout
from bookings.models import Booking, Payment, Refund, Ticket, VoidTicket
from bookings.services import seat_changes
from bookings.services.records import booking_facts, locked
from bookings.services.rules import hold_owner
from bookings.services.tickets import void_tickets
from cinema.plans import get_plan
from cinema.pricing import Quote
from seats import holds
from waitingroom import services as waiting_room

ZERO = Decimal("0")

# Why an exchange cannot be completed; the new booking ends and any money paid for it goes back.
REPLACED_ENDED = "exchanged booking ended"


def paid_for(booking: Booking) -> Decimal:
    """What was paid for the booking's tickets still standing (its quote's lines)."""
    lines = Quote.from_data(booking.lines).lines
    return sum((line.paid for line in lines if line.seat in booking.seat_labels), ZERO)


def why_not_replace(booking: Booking) -> str | None:
    """For an exchange's booking (in the caller's transaction): None when the booking it
    replaces is still as it was when the exchange began (paid, every ticket standing; it is
    locked from here on), else why the exchange cannot be completed."""
    if booking.exchange_of_id is None:
        return None
    replaced = locked(Booking(pk=booking.exchange_of_id))
    if replaced.status != Booking.Status.CONFIRMED:
        return REPLACED_ENDED
    if len(replaced.seat_labels) != len(booking.seat_labels):
        return REPLACED_ENDED
    return None


def sell_booking(*, booking: Booking, payment_ref: str, actor, **detail) -> list[Refund]:
    """Write the booking's tickets from its quote and confirm it, in the caller's transaction
    (the tickets' UNIQUE constraint raises IntegrityError for a seat sold to someone else); an
    exchange retires the booking it replaces first (`why_not_replace` checked it). Returns the
    refunds owed by an exchange to cheaper tickets, for the caller to send after the commit."""
    refunds = _retire_replaced(booking=booking, actor=actor) if booking.exchange_of_id else []
    plan = get_plan(booking.showtime.auditorium)
    Ticket.objects.bulk_create(
        Ticket(
            booking=booking,
            showtime_id=booking.showtime_id,
            seat_id=plan.seats_by_label[line.seat].id,
            ticket_type_id=line.type_id,
            category=line.category,
            price=line.paid,
            discount=line.discount,
        )
        for line in Quote.from_data(booking.lines).lines
    )
    if booking.status != Booking.Status.PENDING:
        # Its voucher's use was given back when it expired; paid for, it counts again.
        checkout.take_voucher_again(booking)
    booking.status = Booking.Status.CONFIRMED
    booking.payment_ref = payment_ref
    booking.save(update_fields=["status", "payment_ref", "fence", "updated_at"])
    exchange = {"exchanged_from": booking.exchange_of.ref} if booking.exchange_of_id else {}
    seat_changes.seats_sold(
        booking=booking,
        actor=actor,
        payment_ref=payment_ref,
        **detail,
        **exchange,
        **booking_facts(booking),
    )

    def after_commit():
        # Bought: the buyer may hold seats of this showtime again at once, and their slot in
        # the waiting room goes to the next in line.
        for owner in (hold_owner(booking.user_id), late_owner(booking)):
            holds.close_window(showtime_id=booking.showtime_id, owner=owner)
        waiting_room.finished(showtime=booking.showtime, user_id=booking.user_id)

    transaction.on_commit(after_commit, robust=True)
    return refunds


def late_owner(booking: Booking) -> str:
    """Whose deadline a late payment's re-hold counts against: the booking's own, not the
    buyer's, which has usually run out by then."""
    return f"paid:{booking.ref}"


def _retire_replaced(*, booking: Booking, actor) -> list[Refund]:
    """The booking an exchange replaces gives up its tickets (their codes void) and its seats;
    what it paid beyond the new tickets is owed back on the payments that paid for it."""
    replaced = locked(Booking(pk=booking.exchange_of_id))
    tickets = list(replaced.tickets.select_related("seat"))
    back = paid_for(replaced) - paid_for(booking)
    refunds = (
        owe_back(
            booking=replaced,
            amount=back,
            seats=[],
            reason="exchanged for cheaper seats",
            actor=actor,
        )
        if back > 0
        else []
    )
    void_tickets(replaced, tickets, reason=VoidTicket.Reason.EXCHANGED)
    Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).delete()
    replaced.status = Booking.Status.EXCHANGED
    replaced.save(update_fields=["status", "updated_at"])
    seat_changes.seats_freed(
        kind=Kind.BOOKING_EXCHANGED,
        booking=replaced,
        actor=actor,
        reason="exchanged",
        to=booking.ref,
        to_showtime=booking.showtime_id,
        to_seats=list(booking.seat_labels),
        difference=str(-back),
        refunds=[refund.pk for refund in refunds],
    )
    return refunds


def paid_with(booking: Booking) -> list[Payment]:
    """The payments that paid for the booking, newest first, locked: its own and those of the
    bookings it replaced (an exchange carries what was paid over to the new booking)."""
    payments = []
    while booking is not None:
        if booking.payment_ref:
            payments += (
                Payment.objects.select_for_update()
                .filter(
                    booking=booking, status=Payment.Status.SUCCEEDED, charge=booking.payment_ref
                )
                .order_by("-created_at")
            )
        booking = booking.exchange_of
    return payments


def refundable(payments: list[Payment]) -> Decimal:
    """What the payments have left to give back."""
    return sum((_left(payment) for payment in payments), ZERO)


def owe_back(*, booking: Booking, amount: Decimal, **fields) -> list[Refund]:
    """Record refunds of `amount` on the payments that paid for the booking, the newest first,
    each for no more than it has left (the caller checked that they have enough)."""
    refunds: list[Refund] = []
    owed = amount
    for payment in paid_with(booking):
        share = min(_left(payment), owed)
        if share > 0:
            refunds.append(Refund.objects.create(payment=payment, amount=share, **fields))
            owed -= share
    return refunds


def _left(payment: Payment) -> Decimal:
    return payment.amount - (payment.refunds.aggregate(total=Sum("amount"))["total"] or ZERO)
