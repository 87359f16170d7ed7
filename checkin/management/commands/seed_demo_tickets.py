"""Tickets to try the door with: a demo customer's booking for the next showing in the Studio.

Complimentary (nothing was charged, so there is no payment to refund); safe to run again: it
makes one booking, and another only once that showing has started.
"""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from bookings.models import Booking, Ticket
from cinema.models import Showtime, TicketType

USERNAME = "demo"
EMAIL = "demo@example.com"
SEATS = 4
PAYMENT_REF = "complimentary demo tickets"


class Command(BaseCommand):
    help = "A demo customer's tickets for the next Studio showing, to scan at the door."

    @transaction.atomic
    def handle(self, *args, **options):
        customer = self._customer()
        booking = (
            Booking.objects.filter(user=customer, status=Booking.Status.CONFIRMED)
            .filter(showtime__in=Showtime.objects.upcoming())
            .select_related("showtime")
            .first()
        ) or self._book(customer)
        if booking is None:
            self.stdout.write("No upcoming showing with free seats: no demo tickets.")
            return
        self.stdout.write(
            f"Demo tickets to scan: booking {booking.ref} ({', '.join(booking.seat_labels)}), "
            f"door at /checkin/{booking.showtime_id}/, tickets at "
            f"/admin/bookings/booking/{booking.pk}/tickets.pdf"
        )

    def _customer(self):
        User = get_user_model()
        customer = User.objects.filter(username=USERNAME).first()
        if customer is None:
            customer = User.objects.create_user(USERNAME, EMAIL)  # no password: not for signing in
            EmailAddress.objects.create(user=customer, email=EMAIL, verified=True, primary=True)
        return customer

    def _book(self, customer) -> Booking | None:
        default = TicketType.objects.filter(is_default=True).first()
        for showtime in Showtime.objects.upcoming().filter(auditorium__name__contains="Studio"):
            sold = set(showtime.tickets.values_list("seat_id", flat=True))
            seats = [
                seat
                for seat in showtime.auditorium.seats.filter(blocked=False).order_by("-y", "x")
                if seat.pk not in sold
            ][:SEATS]
            if len(seats) < SEATS:
                continue
            booking = Booking.objects.create(
                user=customer,
                showtime=showtime,
                status=Booking.Status.CONFIRMED,
                amount=0,
                seat_labels=[seat.label for seat in seats],
                payment_ref=PAYMENT_REF,
            )
            Ticket.objects.bulk_create(
                Ticket(
                    booking=booking,
                    showtime=showtime,
                    seat=seat,
                    ticket_type=default,
                    category=seat.kind,
                    price=0,
                )
                for seat in seats
            )
            return booking
        return None
