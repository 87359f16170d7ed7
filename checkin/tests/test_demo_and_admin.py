"""Tickets to try the door with, and what the back office does with tickets."""

import io

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from bookings import services
from bookings.models import Booking, Ticket, VoidTicket
from conftest import pay

pytestmark = pytest.mark.django_db


def test_the_demo_has_tickets_to_scan_and_seeding_again_adds_none(db, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo_tickets", stdout=out)
    booking = Booking.objects.get(user__username="demo")
    assert booking.status == Booking.Status.CONFIRMED and booking.tickets.count() == 4
    assert "Studio" in booking.showtime.auditorium.name and booking.showtime.is_upcoming
    assert f"/checkin/{booking.showtime_id}/" in out.getvalue()
    call_command("seed_demo_tickets", stdout=io.StringIO())
    assert Booking.objects.filter(user__username="demo").count() == 1


def test_staff_print_a_bookings_tickets_and_customers_cannot(staff, client, user, showtime):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    page = staff.get(f"/admin/bookings/booking/{booking.pk}/change/").text
    assert f"/admin/bookings/booking/{booking.pk}/tickets.pdf" in page
    response = staff.get(f"/admin/bookings/booking/{booking.pk}/tickets.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    client.force_login(user)
    refused = client.get(f"/admin/bookings/booking/{booking.pk}/tickets.pdf")
    assert refused.status_code in (302, 403)


def test_staff_reissue_tickets_from_the_list(staff, user, showtime):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))
    old = set(booking.tickets.values_list("secret", flat=True))
    response = staff.post(
        "/admin/bookings/ticket/",
        {
            "action": "reissue",
            "_selected_action": list(booking.tickets.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    assert set(Ticket.objects.values_list("secret", flat=True)).isdisjoint(old)
    assert set(VoidTicket.objects.values_list("secret", flat=True)) == old
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TICKET_REISSUED).count() == 2
