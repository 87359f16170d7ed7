"""Reads that need bookings: sold seats and holds behind every seat map, a user's bookings."""

from django.db.models import QuerySet

from bookings.models import Booking, Ticket
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


def user_bookings(*, user) -> QuerySet[Booking]:
    return Booking.objects.filter(user=user).select_related(
        "showtime__movie", "showtime__auditorium"
    )
