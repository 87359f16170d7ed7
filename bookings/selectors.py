"""Reads that need bookings: sold seats and holds behind every seat map, a user's bookings."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import Booking, Refund, Ticket
from cinema.models import Showtime
from seats.seatmap import Plan


def booked_labels(*, showtime: Showtime, plan: Plan) -> set[str]:
    """Labels of the seats sold for the showtime (one query)."""
    seat_ids = Ticket.objects.filter(showtime=showtime).values_list("seat_id", flat=True)
    return {plan.seats_by_id[seat_id].label for seat_id in seat_ids}


class BookingSales:
    """What the seat map needs to know from bookings (see seats.seatmap.SaleSource)."""

    def booked_labels(self, *, showtime: Showtime, plan: Plan) -> set[str]:
        return booked_labels(showtime=showtime, plan=plan)

    def hold_token(self, *, showtime: Showtime, user) -> str | None:
        return (
            Booking.objects.filter(user=user, showtime=showtime, status=Booking.Status.PENDING)
            .values_list("hold_token", flat=True)
            .first()
        )


def open_booking(*, user, showtime: Showtime) -> Booking | None:
    """The user's booking waiting for payment on the showtime, if any (one query)."""
    return Booking.objects.filter(
        user=user, showtime=showtime, status=Booking.Status.PENDING
    ).first()


@dataclass(frozen=True)
class MyBookings:
    upcoming: list[Booking]  # soonest showtime first
    past: list[Booking]  # latest showtime first

    def __bool__(self) -> bool:
        return bool(self.upcoming or self.past)


# What a customer calls each ending: a refund is not an abandoned hold.
_OUTCOMES = {
    Booking.Status.PENDING: ("pending", "Waiting for payment"),
    Booking.Status.CONFIRMED: ("confirmed", "Confirmed"),
    Booking.Status.EXPIRED: ("expired", "Hold expired, not paid"),
}


def user_bookings(*, user) -> MyBookings:
    """The user's bookings, upcoming showtimes first, each with `outcome` and `outcome_label`
    (refunded, released or expired told apart); one query."""
    bookings = (
        Booking.objects.filter(user=user)
        .select_related("showtime__movie", "showtime__auditorium")
        .annotate(refunded=Exists(Refund.objects.filter(payment__booking=OuterRef("pk"))))
        .order_by("showtime__starts_at", "-created_at")
    )
    now = timezone.now()
    upcoming, past = [], []
    for booking in bookings:
        if booking.status == Booking.Status.CANCELLED:
            booking.outcome, booking.outcome_label = (
                ("refunded", "Cancelled and refunded")
                if booking.refunded
                else ("cancelled", "Released, not paid")
            )
        else:
            booking.outcome, booking.outcome_label = _OUTCOMES[booking.status]
        (upcoming if booking.showtime.starts_at >= now else past).append(booking)
    return MyBookings(upcoming=upcoming, past=past[::-1])
