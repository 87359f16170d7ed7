"""Reads that need bookings: the booked seats behind every seat map."""

from bookings.models import Ticket
from cinema.models import Showtime
from seats.seatmap import Plan, SeatMap, compose_seat_map, get_plan


def booked_labels(*, showtime: Showtime, plan: Plan) -> set[str]:
    """Labels of the seats sold for the showtime (one query)."""
    seat_ids = Ticket.objects.filter(showtime=showtime).values_list("seat_id", flat=True)
    return {plan.seats_by_id[seat_id].label for seat_id in seat_ids}


def seat_map_for(*, showtime: Showtime) -> SeatMap:
    """The seat map of a showtime as anyone sees it."""
    plan = get_plan(showtime.auditorium)
    return compose_seat_map(plan=plan, booked=booked_labels(showtime=showtime, plan=plan))
