"""What the booking services write down about a booking: its audit events, the facts its emails
are made of, and the lock its changes take."""

from decimal import Decimal

from audit.services import record
from bookings.models import Booking
from cinema.money import format_money
from cinema.pricing import Quote


def audit_booking(kind: str, booking: Booking, *, actor=None, seats=None, **detail) -> None:
    """Record an event of the booking (its seats unless `seats`) in the caller's transaction."""
    record(
        kind,
        actor=actor,
        showtime_id=booking.showtime_id,
        booking_ref=booking.ref,
        seats=booking.seat_labels if seats is None else seats,
        detail=detail,
    )


def locked(booking: Booking) -> Booking:
    """The booking, read again and locked until the transaction ends (only its own row: not the
    showtime every other buyer reads)."""
    rows = Booking.objects.select_for_update(of=("self",)).select_related(
        "user", "showtime__movie", "showtime__auditorium", "showtime__room"
    )
    try:
        return rows.get(pk=booking.pk)
    except Booking.DoesNotExist:
        # PostgreSQL checks a row it waited for against the row's new version but the joined
        # rows' old ones: a booking moved to another screening meanwhile is missed, unlocked.
        # Asked again, the statement sees the move.
        return rows.get(pk=booking.pk)


def booking_facts(booking: Booking) -> dict:
    """What an email about the booking says, as plain data (the notifier reads no bookings)."""
    showtime = booking.showtime
    return {
        "email": booking.user.email,
        "movie": showtime.movie.title,
        "auditorium": showtime.auditorium.name,
        "starts_at": showtime.starts_at.isoformat(),
        # The screening's kinds in words (Showtime.kinds), as the pages say them.
        "kinds": showtime.kinds,
        "access_notes": showtime.access_notes,
        **money_facts(booking.amount),
        "booking_path": booking.get_absolute_url(),
        # Each ticket as the buyer chose it, amounts already written in the cinema's currency.
        "tickets": [
            {
                "seat": line.seat,
                "type": line.type_name,
                "category": line.category_name,
                "paid": format_money(line.paid),
            }
            for line in Quote.from_data(booking.lines).lines
            if line.seat in booking.seat_labels
        ],
        # Access devices to collect at the door, by name.
        **({"devices": devices} if (devices := device_names(booking)) else {}),
        **(
            {"discount": format_money(booking.discount), "voucher": booking.voucher.code}
            if booking.voucher_id and booking.discount
            else {}
        ),
    }


def device_names(booking: Booking) -> list[str]:
    """The access devices lent with the booking, as the buyer reads them."""
    return [loan.get_kind_display() for loan in booking.devices.all()]


def money_facts(amount: Decimal) -> dict:
    """An amount as data and as the buyer reads it (the notifier formats no money itself)."""
    return {"amount": str(amount), "money": format_money(amount)}
