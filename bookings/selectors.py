"""Reads that need bookings: the booked seats behind every seat map, a user's bookings."""

from django.db.models import QuerySet

from bookings.models import Booking, Ticket
from cinema.models import Showtime
from seats import holds
from seats.seatmap import Plan, SeatMap, compose_seat_map, get_plan


def booked_labels(*, showtime: Showtime, plan: Plan) -> set[str]:
    """Labels of the seats sold for the showtime (one query)."""
    seat_ids = Ticket.objects.filter(showtime=showtime).values_list("seat_id", flat=True)
    return {plan.seats_by_id[seat_id].label for seat_id in seat_ids}


def seat_map_for(*, showtime: Showtime, user=None) -> SeatMap:
    """The seat map of a showtime as this viewer sees it: their own held seats are 'mine'."""
    plan = get_plan(showtime.auditorium)
    held = holds.held_labels(showtime_id=showtime.pk, labels=list(plan.seats_by_label))
    mine: set[str] = set()
    if user is not None and user.is_authenticated:
        token = (
            Booking.objects.filter(user=user, showtime=showtime, status=Booking.Status.PENDING)
            .values_list("hold_token", flat=True)
            .first()
        )
        mine = {label for label, holder in held.items() if token and holder == token}
    return compose_seat_map(
        plan=plan,
        booked=booked_labels(showtime=showtime, plan=plan),
        held=set(held) - mine,
        mine=mine,
    )


def user_bookings(*, user) -> QuerySet[Booking]:
    return Booking.objects.filter(user=user).select_related(
        "showtime__movie", "showtime__auditorium"
    )
