"""Passing tickets on: a customer gives tickets of a paid booking to someone else by email.

The old codes stop admitting anyone at once (the door says "transferred"), the receiver is
emailed new ones, and the account with that verified address claims them (at once, if there is
one). No price changes hands through us: there is no amount anywhere in a transfer. So that it
cannot become resale, a ticket changes hands at most TRANSFERS_PER_TICKET times, one account
passes tickets of a showtime on at most TRANSFERS_PER_ACCOUNT_PER_SHOWTIME times (a transfer
taken back counts for both), and nothing checked in, of a show that has started, or to the
sender themselves. Only the buyer passes on: a receiver's tickets stay theirs.

A transfer nobody has claimed yet may be taken back (a mistyped address): the codes emailed are
void then ("recalled") and the tickets the sender's again, with new codes. A claimed one may not.
"""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services import Kind
from bookings.errors import (
    BookingClosed,
    InvalidRequest,
    NotTheReceiver,
    TransferLimitReached,
    TransferRefused,
    VerificationRequired,
)
from bookings.models import Booking, Ticket, Transfer, VoidTicket, new_ticket_secret
from bookings.services.records import audit_booking, locked
from bookings.services.tickets import void_tickets


def pass_on_tickets(*, booking: Booking, labels: list[str], email: str) -> Transfer:
    """Pass the booking's tickets for `labels` on to `email`, for nothing: their old codes are
    void and new ones go to the receiver by email, all in one transaction, or nothing changes."""
    email = _address(email)
    labels = _seats(labels)
    with transaction.atomic():
        # The account's row first, as holding seats takes it: its transfers of the showtime,
        # from any of its bookings, are counted one after the other.
        list(get_user_model().objects.select_for_update().filter(pk=booking.user_id).values("pk"))
        booking = locked(booking)
        sender = booking.user
        if booking.status != Booking.Status.CONFIRMED:
            raise BookingClosed("Only the tickets of a paid booking can be passed on.")
        if timezone.now() >= booking.showtime.starts_at:
            raise BookingClosed("The show has started: its tickets can no longer be passed on.")
        if email.lower() in _addresses(sender):
            raise TransferRefused("That is your own email address: pass them on to someone else.")
        tickets = _passable(booking, labels)
        _check_limits(booking, labels)
        transfer = Transfer.objects.create(
            booking=booking, sender=sender, email=email, seats=labels
        )
        _reissue(booking, tickets, reason=VoidTicket.Reason.TRANSFERRED, transfer=transfer)
        audit_booking(
            Kind.TICKETS_PASSED_ON,
            booking,
            actor=sender,
            seats=labels,
            **_email_facts(transfer, tickets),
        )
        receiver = _account_of(email)
        if receiver is not None:
            _claim(transfer, receiver)
    return transfer


def claim_transfer(*, transfer: Transfer, user) -> Transfer:
    """The passed-on tickets become the account's, if it has confirmed the address they were
    sent to; claiming twice changes nothing."""
    with transaction.atomic():
        transfer = _locked(transfer)
        if transfer.status == Transfer.Status.CLAIMED and transfer.receiver_id == user.pk:
            return transfer
        if transfer.status == Transfer.Status.CANCELLED:
            raise BookingClosed("These tickets were taken back by the person who passed them on.")
        if transfer.status == Transfer.Status.CLAIMED:
            raise NotTheReceiver("These tickets have been claimed by another account.")
        mine = EmailAddress.objects.filter(user=user, email__iexact=transfer.email)
        if not mine.exists():
            raise NotTheReceiver(
                "These tickets were passed on to another email address: sign in with that one."
            )
        if not mine.filter(verified=True).exists():
            raise VerificationRequired(
                f"Confirm {transfer.email} first: follow the link we emailed you, then come back."
            )
        _claim(transfer, user)
    return transfer


def cancel_transfer(*, transfer: Transfer) -> Transfer:
    """Take back tickets passed on that nobody has claimed or used yet: the codes sent are void
    and the sender gets new ones."""
    with transaction.atomic():
        booking = locked(transfer.booking)
        transfer = _locked(transfer)
        if transfer.status == Transfer.Status.CANCELLED:
            return transfer
        if transfer.status == Transfer.Status.CLAIMED:
            raise BookingClosed("These tickets have been claimed: they are the receiver's now.")
        if timezone.now() >= booking.showtime.starts_at:
            raise BookingClosed("The show has started: passed-on tickets stay with their holder.")
        tickets = list(transfer.tickets.select_for_update(of=("self",)).select_related("seat"))
        if _checked_in(tickets):
            raise TransferRefused("A ticket passed on has been used at the door already.")
        _reissue(booking, tickets, reason=VoidTicket.Reason.RECALLED, transfer=None)
        transfer.status = Transfer.Status.CANCELLED
        transfer.save(update_fields=["status", "updated_at"])
        audit_booking(
            Kind.TRANSFER_CANCELLED,
            booking,
            actor=booking.user,
            seats=[ticket.seat.label for ticket in tickets],
            **_email_facts(transfer, tickets),
        )
    return transfer


def tell_receivers_of_refund(booking: Booking, tickets: list[Ticket], *, actor) -> None:
    """Tickets passed on are being refunded to the buyer (staff may; the buyer may not): each
    receiver is told, in the refund's transaction, that the codes we sent them no longer work."""
    given: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        if ticket.transfer_id is not None:
            given.setdefault(ticket.transfer_id, []).append(ticket)
    for transfer in Transfer.objects.filter(pk__in=given).select_related("sender"):
        transfer.booking = booking
        audit_booking(
            Kind.TRANSFER_CANCELLED,
            booking,
            actor=actor,
            refunded=True,
            seats=[ticket.seat.label for ticket in given[transfer.pk]],
            **_email_facts(transfer, given[transfer.pk]),
        )


def tell_receivers(kind: str, booking: Booking, *, actor, **detail) -> None:
    """Email each receiver of the booking's tickets still passed on (an audit event of `kind`
    with `detail`, their tickets and what their emails say), in the caller's transaction."""
    for transfer in booking.transfers.exclude(status=Transfer.Status.CANCELLED).select_related(
        "sender"
    ):
        tickets = list(transfer.tickets.select_related("seat", "ticket_type").order_by("seat_id"))
        if not tickets:
            continue
        transfer.booking = booking
        audit_booking(
            kind,
            booking,
            actor=actor,
            seats=[ticket.seat.label for ticket in tickets],
            **detail,
            **_email_facts(transfer, tickets),
        )


def tell_receivers_of_move(booking: Booking, *, renamed: dict[str, str], actor) -> None:
    """The booking moved to another screening (its own changed), its tickets with it: those
    passed on are still their receivers' (through the same transfer, for the seats they moved
    to), and each receiver is emailed the new codes, in the move's transaction. `renamed` maps
    each old seat to its new one, so that every transfer names the seats it now counts for."""
    for transfer in booking.transfers.all():
        transfer.seats = [renamed.get(label, label) for label in transfer.seats]
        transfer.save(update_fields=["seats", "updated_at"])
    tell_receivers(Kind.PASSED_ON_MOVED, booking, actor=actor)


def _address(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidRequest("Give the email address to pass the tickets on to.") from None
    return email


def _seats(labels: list[str]) -> list[str]:
    labels = [label.strip().upper()[:8] for label in labels if label.strip()]
    if not labels:
        raise InvalidRequest("Choose at least one ticket to pass on.")
    if len(set(labels)) != len(labels):
        raise InvalidRequest("A ticket is listed more than once.")
    return labels


def _addresses(user) -> set[str]:
    """Every address the account goes by, in lower case."""
    listed = EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    return {address.lower() for address in [user.email, *listed] if address}


def _account_of(email: str):
    """The account that has confirmed `email`, if one has."""
    found = EmailAddress.objects.filter(email__iexact=email, verified=True).select_related("user")
    return next((address.user for address in found[:1]), None)


def _passable(booking: Booking, labels: list[str]) -> list[Ticket]:
    """The booking's tickets for `labels`, locked, each the buyer's still and not used."""
    tickets = {
        ticket.seat.label: ticket
        for ticket in booking.tickets.select_for_update(of=("self",)).select_related(
            "seat", "ticket_type"
        )
    }
    for label in labels:
        if label not in tickets:
            raise InvalidRequest(f"{label} is not a ticket of this booking.")
        if tickets[label].transfer_id is not None:
            raise TransferRefused(f"{label} has been passed on already.")
    chosen = [tickets[label] for label in labels]
    used = _checked_in(chosen)
    if used:
        seats = ", ".join(ticket.seat.label for ticket in chosen if ticket.pk in used)
        raise TransferRefused(f"{seats} has been used at the door: it can no longer be passed on.")
    return chosen


def _checked_in(tickets: list[Ticket]) -> set[int]:
    return import_string(settings.TICKET_CHECK_INS)([ticket.pk for ticket in tickets])


def _check_limits(booking: Booking, labels: list[str]) -> None:
    passed = [transfer.seats for transfer in booking.transfers.all()]
    for label in labels:
        times = sum(label in seats for seats in passed)
        if times >= settings.TRANSFERS_PER_TICKET:
            raise TransferLimitReached(
                f"{label} has been passed on {times} time{'s' if times != 1 else ''} already: "
                "that is as often as a ticket may be."
            )
    made = Transfer.objects.filter(
        sender=booking.user, booking__showtime_id=booking.showtime_id
    ).count()
    if made >= settings.TRANSFERS_PER_ACCOUNT_PER_SHOWTIME:
        raise TransferLimitReached(
            f"You have passed tickets for this showtime on {made} times: that is as often as "
            "one account may."
        )


def _reissue(booking: Booking, tickets: list[Ticket], *, reason: str, transfer) -> None:
    """New codes for the tickets, held through `transfer` (None: the buyer's); the old ones void."""
    void_tickets(booking, tickets, reason=reason)
    for ticket in tickets:
        ticket.secret = new_ticket_secret()
        ticket.transfer = transfer
    Ticket.objects.bulk_update(tickets, ["secret", "transfer"])


def _claim(transfer: Transfer, user) -> None:
    transfer.status = Transfer.Status.CLAIMED
    transfer.receiver = user
    transfer.save(update_fields=["status", "receiver", "updated_at"])
    audit_booking(
        Kind.TRANSFER_CLAIMED,
        transfer.booking,
        actor=user,
        seats=transfer.seats,
        transfer=transfer.ref,
    )


def _locked(transfer: Transfer) -> Transfer:
    return (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("booking__showtime")
        .get(pk=transfer.pk)
    )


def _email_facts(transfer: Transfer, tickets: list[Ticket]) -> dict:
    """What the receiver's emails say, as plain data: no amount, none changes hands here."""
    booking, sender = transfer.booking, transfer.sender
    showtime = booking.showtime
    return {
        "transfer": transfer.ref,
        "email": transfer.email,
        "sender": sender.get_full_name() or sender.email,
        "movie": showtime.movie.title,
        "auditorium": showtime.auditorium.name,
        "starts_at": showtime.starts_at.isoformat(),
        "kinds": showtime.kinds,
        "access_notes": showtime.access_notes,
        "booking_path": transfer.get_absolute_url(),
        "tickets": [
            {
                "seat": ticket.seat.label,
                "type": ticket.ticket_type.name if ticket.ticket_type else "Ticket",
                "category": ticket.get_category_display(),
            }
            for ticket in tickets
        ],
    }
