"""Who came and who did not, for one showtime, as CSV on stdout."""

from django.core.management.base import BaseCommand, CommandError

from bookings.models import Ticket
from checkin.models import CheckIn
from cinema.models import Showtime
from infra.csvfile import csv_text
from infra.inputs import whole_number

COLUMNS = ["seat", "ticket", "booking", "email", "status", "checked_in_at", "door", "staff"]


class Command(BaseCommand):
    help = "CSV of every ticket of a showtime: checked in (when, which door, by whom) or not."

    def add_arguments(self, parser):
        parser.add_argument("showtime", help="The showtime's id (see admin, Showtimes).")

    def handle(self, *args, showtime: str, **options):
        showtime_id = whole_number(showtime)
        if showtime_id is None:
            raise CommandError(f"{showtime[:40]!r} is not a showtime id: give its number.")
        found = Showtime.objects.filter(pk=showtime_id).first()
        if found is None:
            raise CommandError(f"There is no showtime {showtime}.")
        check_ins = {
            check_in.ticket_id: check_in
            for check_in in CheckIn.objects.filter(showtime=found).select_related("staff")
        }
        tickets = (
            Ticket.objects.filter(showtime=found)
            .select_related("seat", "ticket_type", "booking__user")
            .order_by("seat__y", "seat__x")
        )
        rows = (
            [
                ticket.seat.label,
                ticket.ticket_type.name if ticket.ticket_type else "",
                ticket.booking.ref,
                ticket.booking.user.email,
                "in" if (check_in := check_ins.get(ticket.pk)) else "not in",
                check_in and check_in.at,
                check_in.door if check_in else "",
                check_in.staff.get_username() if check_in and check_in.staff else "",
            ]
            for ticket in tickets
        )
        self.stdout.write(csv_text(COLUMNS, rows), ending="")
