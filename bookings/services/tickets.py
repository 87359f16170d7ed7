"""A ticket's life after its sale: voided (refunded or reissued) with its code kept, so the door
can say why it no longer admits anyone."""

from django.db import transaction

from audit.services import Kind
from bookings.models import Booking, Ticket, VoidTicket, new_ticket_secret
from bookings.services.records import audit_booking


def void_tickets(booking: Booking, tickets: list[Ticket], *, reason: str) -> None:
    """Keep the codes of tickets that stop admitting anyone, so the door can say why."""
    VoidTicket.objects.bulk_create(
        VoidTicket(
            ticket_id=ticket.pk,
            showtime_id=ticket.showtime_id,
            booking_ref=booking.ref,
            seat_label=ticket.seat.label,
            secret=ticket.secret,
            reason=reason,
        )
        for ticket in tickets
    )


def reissue_ticket(*, ticket: Ticket, actor) -> Ticket:
    """A new secret for the ticket (a screenshot of it leaked): its old QR code stops working,
    and the door calls it void, not forged."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update().select_related("booking", "seat").get(pk=ticket.pk)
        )
        void_tickets(ticket.booking, [ticket], reason=VoidTicket.Reason.REISSUED)
        ticket.secret = new_ticket_secret()
        ticket.save(update_fields=["secret"])
        audit_booking(Kind.TICKET_REISSUED, ticket.booking, actor=actor, seats=[ticket.seat.label])
    return ticket
