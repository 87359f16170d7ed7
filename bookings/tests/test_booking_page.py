"""The checkout and ticket pages say what the buyer needs: the refund policy while it can be
used, their tickets in the plural when there are several, no payment provider's ids."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from cinema.models import Showtime
from conftest import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(user):
    client = Client()
    client.force_login(user)
    return client


def _starting_in(showtime, delta: timedelta) -> Showtime:
    """The showtime moved to start `delta` from now (as if the clock had moved on)."""
    starts_at = timezone.now() + delta
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=starts_at, ends_at=starts_at + delta)
    showtime.refresh_from_db()
    return showtime


def test_checkout_says_until_when_a_paid_booking_can_be_cancelled(buyer, user, showtime):
    held = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    page = buyer.get(held.get_absolute_url()).text
    until = timezone.localtime(showtime.starts_at - timedelta(hours=2))
    assert "you can cancel online for a full refund until" in page
    assert f"{until:%H:%M} (2 hours before the show)" in page


def test_checkout_says_nothing_of_refunds_once_they_have_closed(buyer, user, showtime):
    held = services.hold_seats(
        user=user, showtime=_starting_in(showtime, timedelta(minutes=90)), labels=["A3"]
    )
    page = buyer.get(held.get_absolute_url()).text
    assert "data-refund-policy" not in page and "full refund" not in page


def test_the_ticket_page_shows_the_policy_with_cancel_while_it_applies(buyer, user, showtime):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    page = buyer.get(booking.get_absolute_url()).text
    until = timezone.localtime(showtime.starts_at - timedelta(hours=2))
    assert "You can cancel online for a full refund until" in page
    assert f"{until:%H:%M} (2 hours before the show)" in page
    assert "Cancel and refund" in page


def test_after_the_cutoff_the_ticket_page_says_it_closed_and_offers_no_cancel(
    buyer, user, showtime
):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    _starting_in(showtime, timedelta(minutes=90))
    page = buyer.get(booking.get_absolute_url()).text
    assert "Online cancellation closed at" in page and "ask at the box office" in page
    assert "data-refund-policy" not in page and "Cancel and refund" not in page


def test_the_ticket_page_says_tickets_for_several_and_ticket_for_one(buyer, user, showtime):
    three = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4", "A5"]))
    one = pay(services.hold_seats(user=user, showtime=showtime, labels=["B1"]))
    assert '<h1 class="page__title">Your tickets</h1>' in buyer.get(three.get_absolute_url()).text
    assert '<h1 class="page__title">Your ticket</h1>' in buyer.get(one.get_absolute_url()).text


def test_the_ticket_page_shows_the_booking_ref_not_the_providers_charge_id(buyer, user, showtime):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    charge = Booking.objects.get(pk=booking.pk).payment_ref
    page = buyer.get(booking.get_absolute_url()).text
    assert charge and charge not in page
    assert "Booking ref" in page and booking.ref in page
