"""Booking emails as the customer reads them: subjects and text as written, HTML escaped."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from audit.emails import compose
from audit.models import AuditEvent
from cinema.models import Venue

# The cinema's address is read when an email is written (EMAIL_VENUE).
pytestmark = pytest.mark.django_db

TITLE = "Fast & Furious <3"


def _event(kind: str, **detail) -> dict:
    return {
        "kind": kind,
        "booking_ref": "BK7Q2X",
        "seats": ["C7", "C8"],
        "detail": {
            "email": "ann@example.com",
            "movie": TITLE,
            "auditorium": "Screen <1> & 2",
            "starts_at": datetime(2030, 3, 4, 19, 30, tzinfo=ZoneInfo("Europe/London")).isoformat(),
            "amount": "21.00",
            "money": "£21.00",  # written by the booking service in the cinema's currency
            "booking_path": "/bookings/BK7Q2X/",
            **detail,
        },
    }


def test_the_confirmation_subject_carries_the_title_as_written():
    email = compose(_event(AuditEvent.Kind.BOOKING_CONFIRMED))
    # 2030 is not this year: the date says so.
    assert email.subject == "Your tickets for Fast & Furious <3, Mon 4 Mar 2030, 19:30 (BK7Q2X)"


def test_the_refund_subject_is_plain_text():
    email = compose(_event(AuditEvent.Kind.SEATS_RELEASED, refunded=True))
    assert email.subject == "Booking BK7Q2X cancelled: £21.00 refunded"


def test_the_text_body_is_as_written_and_the_html_body_stays_escaped():
    email = compose(_event(AuditEvent.Kind.BOOKING_CONFIRMED))
    assert f"Film:       {TITLE}\n" in email.text
    assert "Where:      Screen <1> & 2, Marquee Cinemas\n" in email.text
    assert "<td>Fast &amp; Furious &lt;3</td>" in email.html
    assert TITLE not in email.html


def test_booking_emails_link_to_the_site_url_and_are_signed_by_the_cinema(settings):
    settings.SITE_URL = "https://tickets.example.com"
    settings.CINEMA_NAME = "Roxy Pictures"
    for event in (
        _event(AuditEvent.Kind.BOOKING_CONFIRMED),
        _event(AuditEvent.Kind.SEATS_RELEASED, refunded=True),
    ):
        email = compose(event)
        assert "https://tickets.example.com/bookings/BK7Q2X/" in email.text
        assert 'href="https://tickets.example.com/bookings/BK7Q2X/"' in email.html
        assert email.text.rstrip().endswith("Roxy Pictures")
        assert "Roxy Pictures" in email.html


def test_the_confirmation_says_where_the_cinema_is_and_links_its_page(settings):
    settings.SITE_URL = "https://tickets.example.com"
    Venue.objects.create(address="14 Harbour Street\nBristol BS1 4RN")
    email = compose(_event(AuditEvent.Kind.BOOKING_CONFIRMED))
    assert (
        "Where:      Screen <1> & 2, Marquee Cinemas\n"
        "            14 Harbour Street, Bristol BS1 4RN\n"
        "            Getting here and accessibility: https://tickets.example.com/visit/\n"
    ) in email.text
    assert "14 Harbour Street, Bristol BS1 4RN" in email.html
    assert 'href="https://tickets.example.com/visit/"' in email.html
    assert "When:       Monday 4 March 2030, 19:30" in email.text


def test_the_address_is_the_one_of_the_day_the_email_is_written(settings):
    Venue.objects.create(address="1 Old Road")
    event = _event(AuditEvent.Kind.BOOKING_CONFIRMED)
    Venue.objects.update(address="2 New Road")
    assert "2 New Road" in compose(event).text


def test_an_exchanges_confirmation_says_which_tickets_it_replaces():
    email = compose(
        _event(AuditEvent.Kind.BOOKING_CONFIRMED, exchanged_from="OLD123", money="£4.00")
    )
    assert "These tickets replace those of booking OLD123, which no longer work." in email.text
    assert "Paid:       £4.00 (the difference)\n" in email.text
    assert "replace those of booking OLD123" in email.html
    assert "replace" not in compose(_event(AuditEvent.Kind.BOOKING_CONFIRMED)).text
