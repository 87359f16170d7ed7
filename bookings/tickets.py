"""A booking's tickets as the moviegoer keeps them: a QR code per seat, a printable PDF (a page a
seat) and a calendar event. The email attaches the last two (`attachments`, which the notifier
finds through settings.EMAIL_ATTACHMENTS)."""

import io
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.mime.image import MIMEImage

import segno
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from fpdf import FPDF

from bookings import ticket_codes
from bookings.models import Booking, Ticket, Transfer
from bookings.services.records import device_names
from cinema.money import format_money
from cinema.selectors import current_venue
from infra.dates import show_when


@dataclass(frozen=True)
class Pass:
    """One seat's ticket, with everything printed on it."""

    ticket: Ticket
    code: str

    @property
    def seat(self) -> str:
        return self.ticket.seat.label

    @property
    def kind(self) -> str:
        return self.ticket.ticket_type.name if self.ticket.ticket_type else "Ticket"

    @property
    def category(self) -> str:
        return self.ticket.get_category_display()

    def qr_svg(self) -> SafeString:
        """The code as an inline SVG image, named for screen readers."""
        svg = segno.make(self.code, error="m").svg_inline(scale=4, border=2)
        label = escape(f"Ticket code for seat {self.seat}")
        # segno writes only the modules' path (no text of ours); the label is escaped.
        return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S308


def passes(booking: Booking) -> list[Pass]:
    """The tickets the buyer holds: not the ones passed on to someone else."""
    return _passes(booking.tickets.filter(transfer=None))


def transfer_passes(transfer: Transfer) -> list[Pass]:
    """The tickets a transfer passed on, while its receiver holds them."""
    return _passes(transfer.tickets.all())


def _passes(tickets) -> list[Pass]:
    tickets = tickets.select_related("seat", "ticket_type").order_by("seat__y", "seat__x")
    return [
        Pass(
            ticket=ticket,
            code=ticket_codes.encode(
                showtime_id=ticket.showtime_id, ticket_id=ticket.pk, secret=ticket.secret
            ),
        )
        for ticket in tickets
    ]


def _latin1(text: str) -> str:
    """The PDF's built-in font speaks Latin-1: anything else prints as "?" rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


def where(address: str) -> str:
    """The cinema's name and address on one line, as a calendar or a map looks it up."""
    return ", ".join(filter(None, [settings.CINEMA_NAME, address]))


def tickets_pdf(booking: Booking, *, transfer: Transfer | None = None) -> bytes:
    """A printable page per seat: the cinema and its address, the film, time, screening kinds,
    screen, seat, ticket type and its QR code. The buyer's tickets, or the ones `transfer`
    passed on (the access devices stay with the buyer's)."""
    showtime = booking.showtime
    address = current_venue().address_line
    ref = transfer.ref if transfer else booking.ref
    pdf = FPDF(format=(105, 148))  # A6
    pdf.set_title(_latin1(f"Tickets {ref}"))
    pdf.set_author(_latin1(settings.CINEMA_NAME))
    pdf.set_auto_page_break(False)
    devices = [] if transfer else device_names(booking)
    for ticket in transfer_passes(transfer) if transfer else passes(booking):
        pdf.add_page()
        pdf.set_font("helvetica", size=9)
        pdf.cell(0, 5, _latin1(settings.CINEMA_NAME), new_x="LMARGIN", new_y="NEXT")
        if address:
            pdf.set_font("helvetica", size=7)
            pdf.multi_cell(0, 3.5, _latin1(address), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        pdf.set_font("helvetica", style="B", size=15)
        pdf.multi_cell(0, 7, _latin1(showtime.movie.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        lines = [
            show_when(showtime.starts_at, long=True),
            *([", ".join(showtime.kinds)] if showtime.kinds else []),
            showtime.auditorium.name,
            f"Seat {ticket.seat} ({ticket.category})",
            f"{ticket.kind}, {format_money(ticket.ticket.price)}",
            *(f"Collect at the door: {name}" for name in devices),
        ]
        for line in lines:
            pdf.cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        image = io.BytesIO()
        segno.make(ticket.code, error="m").save(image, kind="png", scale=10, border=4)
        image.seek(0)
        pdf.image(image, x=(pdf.w - 62) / 2, y=pdf.get_y() + 2, w=62, h=62)
        pdf.set_y(pdf.h - 14)
        pdf.set_font("helvetica", size=8)
        pdf.cell(0, 4, _latin1(f"Booking {ref}"), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 4, "Show this code at the door.", align="C")
    return bytes(pdf.output())


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines of at most 75 octets, continued with a space."""
    data, parts = line.encode(), []
    while len(data) > 75:
        cut = 75 if not parts else 74
        while (data[cut] & 0xC0) == 0x80:  # never inside a UTF-8 character
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
    parts.append(data.decode())
    return "\r\n ".join(parts)


def calendar_event(booking: Booking) -> str:
    """The showing as an iCalendar event (UTC times, the booking as its unique id): at the
    cinema's address, ending after the trailers and the film, with a reminder before it; the
    description starts with the screening's kinds and notes."""
    showtime = booking.showtime
    ends = showtime.starts_at + timedelta(
        minutes=settings.TRAILERS_MINUTES + showtime.movie.runtime_minutes
    )
    stamp = "%Y%m%dT%H%M%SZ"
    link = f"{settings.SITE_URL}{booking.get_absolute_url()}"
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{_ics_text(settings.CINEMA_NAME)}//Tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{booking.ref}@{host}",
        f"DTSTAMP:{timezone.now().astimezone(UTC):{stamp}}",
        f"DTSTART:{showtime.starts_at.astimezone(UTC):{stamp}}",
        f"DTEND:{ends.astimezone(UTC):{stamp}}",
        f"SUMMARY:{_ics_text(showtime.movie.title)}",
        f"LOCATION:{_ics_text(where(current_venue().address_line))}",
        "DESCRIPTION:"
        + _ics_text(
            "".join(f"{kind}. " for kind in showtime.kinds)
            + (f"{showtime.access_notes} " if showtime.access_notes else "")
            + f"{showtime.auditorium.name}, seats {', '.join(booking.seat_labels)}. Booking "
            f"{booking.ref}: show your tickets at the door. The film starts after about "
            f"{settings.TRAILERS_MINUTES} minutes of trailers. {link}"
        ),
        f"URL:{link}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_ics_text(f'{showtime.movie.title} at {settings.CINEMA_NAME}')}",
        f"TRIGGER:-PT{settings.REMINDER_MINUTES}M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(f"{_fold(line)}\r\n" for line in lines)


def _inline_code(ticket: Pass) -> MIMEImage:
    """A seat's QR code for the email's HTML, which shows it as <img src="cid:ticket-F11">."""
    image = io.BytesIO()
    segno.make(ticket.code, error="m").save(image, kind="png", scale=5, border=4)
    part = MIMEImage(image.getvalue(), "png")
    part.add_header("Content-ID", f"<ticket-{ticket.seat}>")
    part.add_header("Content-Disposition", "inline", filename=f"ticket-{ticket.seat}.png")
    return part


def attachments(event: dict) -> list:
    """What the email about `event` (a stream event, plain data) carries: a confirmed (or moved)
    booking's QR code per seat (inline), PDF tickets and calendar event, and the same of tickets
    passed on (or moved with their booking) for their receiver; a paid booking's device change,
    the PDF tickets again (they name the devices); nothing for any other email."""
    kind = event.get("kind")
    if kind in ("tickets_passed_on", "passed_on_moved"):
        return _transfer_attachments((event.get("detail") or {}).get("transfer", ""))
    if kind not in ("booking_confirmed", "booking_moved", "device_added", "device_removed"):
        return []
    booking = (
        Booking.objects.select_related("showtime__movie", "showtime__auditorium")
        .filter(ref=event.get("booking_ref", ""), status=Booking.Status.CONFIRMED)
        .first()
    )
    if booking is None:  # refunded since: the email still goes, without tickets
        return []
    if kind in ("device_added", "device_removed"):
        return [(f"tickets-{booking.ref}.pdf", tickets_pdf(booking), "application/pdf")]
    return [
        *(_inline_code(ticket) for ticket in passes(booking)),
        (f"tickets-{booking.ref}.pdf", tickets_pdf(booking), "application/pdf"),
        (f"{booking.ref}.ics", calendar_event(booking).encode(), "text/calendar"),
    ]


def _transfer_attachments(ref: str) -> list:
    transfer = (
        Transfer.objects.select_related("booking__showtime__movie", "booking__showtime__auditorium")
        .exclude(status=Transfer.Status.CANCELLED)
        .filter(ref=ref)
        .first()
    )
    if transfer is None:  # taken back since: the email still goes, without tickets
        return []
    return [
        *(_inline_code(ticket) for ticket in transfer_passes(transfer)),
        (
            f"tickets-{transfer.ref}.pdf",
            tickets_pdf(transfer.booking, transfer=transfer),
            "application/pdf",
        ),
    ]
