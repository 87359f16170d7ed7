"""The tickets a moviegoer keeps: signed QR codes, the PDF, the calendar event, void tickets."""

import shutil
import subprocess
from datetime import timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.core import mail
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from audit.models import AuditEvent
from audit.notifier import Notifier
from bookings import services, ticket_codes, tickets
from bookings.models import Ticket, VoidTicket
from cinema.models import Venue
from cinema.services import schedule_showtime
from conftest import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


@pytest.fixture
def venue(db):
    return Venue.objects.create(address="14 Harbour Street,\n Bristol BS1 4RN\n")


@pytest.fixture
def buyer(user):
    client = Client()
    client.force_login(user)
    return client


def _code(ticket: Ticket) -> str:
    return ticket_codes.encode(
        showtime_id=ticket.showtime_id, ticket_id=ticket.pk, secret=ticket.secret
    )


def _door_key() -> Ed25519PublicKey:
    """What a door device holds: the public key's text, nothing else."""
    return Ed25519PublicKey.from_public_bytes(ticket_codes.unb64(ticket_codes.public_key_text()))


def test_a_code_verifies_with_the_public_key_alone(paid):
    ticket = paid.tickets.first()
    code = ticket_codes.decode(_code(ticket), key=_door_key())
    assert (code.showtime_id, code.ticket_id, code.secret) == (
        ticket.showtime_id,
        ticket.pk,
        ticket.secret,
    )


def test_any_changed_byte_truncation_or_garbage_is_not_a_ticket(paid):
    good = _code(paid.tickets.first())
    changed = [
        good[:i] + ("A" if good[i] != "A" else "B") + good[i + 1 :]
        for i in range(3, len(good))
        if good[i] != "."
    ]
    for text in [*changed, good[:-1], good[:40], "", "hello", good + "x", good.replace("T1", "T2")]:
        with pytest.raises(ticket_codes.InvalidCode):
            ticket_codes.decode(text, key=_door_key())


def test_a_code_signed_by_another_cinemas_key_is_refused(paid):
    ticket = paid.tickets.first()
    payload = f"T1.{ticket.showtime_id}.{ticket.pk}.{ticket.secret}"
    forged = f"{payload}.{ticket_codes.b64(Ed25519PrivateKey.generate().sign(payload.encode()))}"
    with pytest.raises(ticket_codes.InvalidCode):
        ticket_codes.decode(forged)


def test_reissuing_a_ticket_voids_its_old_code(paid, staff_user):
    ticket = paid.tickets.first()
    old_secret = ticket.secret
    services.reissue_ticket(ticket=ticket, actor=staff_user)
    ticket.refresh_from_db()
    assert ticket.secret != old_secret
    void = VoidTicket.objects.get(secret=old_secret)
    assert (void.ticket_id, void.reason) == (ticket.pk, VoidTicket.Reason.REISSUED)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TICKET_REISSUED).count() == 1


def test_a_refund_keeps_the_void_codes_and_the_page_says_void(paid, buyer, staff_user):
    secrets_before = dict(paid.tickets.values_list("seat__label", "secret"))
    services.refund_tickets(booking=paid, actor=staff_user, reason="test", labels=["A3"])
    assert VoidTicket.objects.get(secret=secrets_before["A3"]).reason == "refunded"
    page = buyer.get(paid.get_absolute_url()).text
    assert "Seat A3 <strong>Void: refunded</strong>" in page
    assert page.count('aria-label="Ticket code for seat') == 1  # A4 only


def test_the_ticket_page_shows_a_code_per_seat(paid, buyer):
    page = buyer.get(paid.get_absolute_url()).text
    assert 'aria-label="Ticket code for seat A3"' in page
    assert 'aria-label="Ticket code for seat A4"' in page
    assert f"/bookings/{paid.ref}/tickets.pdf" in page and f"/bookings/{paid.ref}/event.ics" in page


def test_the_calendar_event_opens_in_a_calendar_library(paid, buyer):
    response = buyer.get(f"/bookings/{paid.ref}/event.ics")
    assert response["Content-Type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Test Film"
    assert event["DTSTART"].dt == paid.showtime.starts_at.replace(microsecond=0)
    assert "A3, A4" in str(event["DESCRIPTION"]) and str(event["UID"]).startswith(paid.ref)


def test_the_calendar_event_is_at_the_cinemas_address_and_lasts_trailers_and_film(
    paid, buyer, venue, settings
):
    settings.TRAILERS_MINUTES, settings.REMINDER_MINUTES = 25, 45
    (event,) = Calendar.from_ical(buyer.get(f"/bookings/{paid.ref}/event.ics").content).walk(
        "VEVENT"
    )
    starts = paid.showtime.starts_at.replace(microsecond=0)
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=25 + 100)
    assert event["DTSTART"].dt == starts
    assert str(event["LOCATION"]) == "Marquee Cinemas, 14 Harbour Street, Bristol BS1 4RN"
    assert "Test Hall" in str(event["DESCRIPTION"])
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-45)
    assert "Test Film" in str(alarm["DESCRIPTION"])


def test_without_an_address_the_calendar_event_is_at_the_cinemas_name(paid):
    (event,) = Calendar.from_ical(tickets.calendar_event(paid)).walk("VEVENT")
    assert str(event["LOCATION"]) == "Marquee Cinemas"


PDFTOPPM, ZBARIMG = shutil.which("pdftoppm"), shutil.which("zbarimg")


@pytest.mark.skipif(
    not (PDFTOPPM and ZBARIMG),
    reason="needs pdftoppm (poppler-utils) and zbarimg (zbar-tools)",
)
def test_the_pdf_renders_and_each_page_qr_decodes_to_its_ticket(paid, buyer, tmp_path):
    response = buyer.get(f"/bookings/{paid.ref}/tickets.pdf")
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "tickets.pdf"
    pdf.write_bytes(response.content)
    subprocess.run([PDFTOPPM, "-r", "150", "-png", pdf, tmp_path / "page"], check=True)
    pages = sorted(Path(tmp_path).glob("page*.png"))
    assert len(pages) == 2
    expected = [_code(ticket) for ticket in paid.tickets.order_by("seat__x")]
    found = [
        subprocess.run(
            [ZBARIMG, "--quiet", "--raw", page], capture_output=True, text=True, check=True
        ).stdout.strip()
        for page in pages
    ]
    assert found == expected


PDFTOTEXT = shutil.which("pdftotext")


@pytest.mark.skipif(not PDFTOTEXT, reason="needs pdftotext (poppler-utils)")
def test_the_pdf_carries_the_cinemas_address_and_the_year_of_a_show_next_year(
    user, showtime, venue, tmp_path
):
    next_year = timezone.localtime().replace(
        year=timezone.localdate().year + 1, month=1, day=7, hour=19, minute=30
    )
    later = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=next_year,
        price_list=showtime.price_list,
    )
    booking = pay(services.hold_seats(user=user, showtime=later, labels=["B2"]))
    pdf = tmp_path / "tickets.pdf"
    pdf.write_bytes(tickets.tickets_pdf(booking))
    text = subprocess.run(
        [PDFTOTEXT, "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Marquee Cinemas" in text and "14 Harbour Street, Bristol BS1 4RN" in text
    weekday = f"{next_year:%A}"
    assert f"{weekday} 7 January {next_year.year}, 19:30" in text


def test_no_ticket_files_for_a_booking_not_paid_or_not_yours(showtime, user, bob, buyer, paid):
    held = services.hold_seats(user=user, showtime=showtime, labels=["B1"])
    response = buyer.get(f"/bookings/{held.ref}/tickets.pdf")
    assert response.status_code == 409 and "has no tickets" in response.text
    other = Client()
    other.force_login(bob)
    assert other.get(f"/bookings/{paid.ref}/tickets.pdf").status_code == 404
    assert other.get(f"/bookings/{paid.ref}/event.ics").status_code == 404
    assert Client().get(f"/bookings/{paid.ref}/event.ics").status_code == 302


def _tree(part) -> list:
    """A MIME part as [content type, children...] (a leaf: its type)."""
    if not part.is_multipart():
        return part.get_content_type()
    return [part.get_content_type(), *(_tree(child) for child in part.iter_parts())]


def test_the_confirmation_email_attaches_the_pdf_and_the_calendar_event(paid, redis_db):
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    assert Notifier(consumer="test", block_ms=1).handle(confirmed.as_message())
    (email,) = mail.outbox
    message = message_from_bytes(email.message().as_bytes(), policy=policy.default)
    # Files in the mixed part, where every mail app lists them; the QR codes with the HTML.
    assert _tree(message) == [
        "multipart/mixed",
        [
            "multipart/alternative",
            "text/plain",
            ["multipart/related", "text/html", "image/png", "image/png"],
        ],
        "application/pdf",
        "text/calendar",
    ]
    files = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
    assert files == {
        f"tickets-{paid.ref}.pdf": "application/pdf",
        f"{paid.ref}.ics": "text/calendar",
    }
    related = message.get_payload(0).get_payload(1)
    html, *images = related.get_payload()
    assert [image["Content-ID"] for image in images] == ["<ticket-A3>", "<ticket-A4>"]
    assert all(image.get_content_disposition() == "inline" for image in images)
    assert (
        'src="cid:ticket-A3"' in html.get_content() and 'src="cid:ticket-A4"' in html.get_content()
    )
    assert tickets.attachments({"kind": "seats_released", "booking_ref": paid.ref}) == []


def test_the_confirmation_email_carries_the_cinemas_address(
    showtime, user, venue, redis_db, settings
):
    pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    Notifier(consumer="test", block_ms=1).handle(confirmed.as_message())
    (email,) = mail.outbox
    assert "14 Harbour Street, Bristol BS1 4RN" in email.body
    assert f"{settings.SITE_URL}/visit/" in email.body


def test_the_email_is_dated_with_the_cinemas_offset_not_an_unknown_zone(paid, redis_db):
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    Notifier(consumer="test", block_ms=1).handle(confirmed.as_message())
    date = mail.outbox[0].message()["Date"]
    assert not date.endswith("-0000")
    sent = parsedate_to_datetime(date)
    assert sent.utcoffset() == timezone.localtime().utcoffset()
    assert abs(sent - timezone.now()) < timedelta(minutes=1)


def test_ticket_key_makes_a_key_production_accepts(settings):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("ticket_key", stdout=out)
    key = out.getvalue().strip()
    assert len(ticket_codes.unb64(key)) == 32
    public = StringIO()
    call_command("ticket_key", "--public", stdout=public)
    assert public.getvalue().strip() == ticket_codes.public_key_text()


@pytest.mark.skipif(not PDFTOTEXT, reason="needs pdftotext (poppler-utils)")
def test_the_email_calendar_event_and_pdf_name_the_screenings_kinds(
    showtime, user, redis_db, tmp_path
):
    showtime.subtitle_language, showtime.relaxed = "English", True
    showtime.access_notes = "Lights up low, sound turned down."
    showtime.save(update_fields=["subtitle_language", "relaxed", "access_notes"])
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    Notifier(consumer="test", block_ms=1).handle(confirmed.as_message())
    (email,) = mail.outbox
    assert "Screening:  English subtitles, Relaxed screening" in email.body
    assert "Good to know: Lights up low, sound turned down." in email.body
    (html, _) = email.alternatives[0]
    assert "<td>English subtitles, Relaxed screening</td>" in html
    (event,) = Calendar.from_ical(tickets.calendar_event(booking)).walk("VEVENT")
    assert str(event["DESCRIPTION"]).startswith(
        "English subtitles. Relaxed screening. Lights up low, sound turned down. Test Hall"
    )
    pdf = tmp_path / "tickets.pdf"
    pdf.write_bytes(tickets.tickets_pdf(booking))
    text = subprocess.run(
        [PDFTOTEXT, "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "English subtitles, Relaxed screening" in text
