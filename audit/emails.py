"""The emails an event causes, composed from the event's own plain data (no other app's models)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.models import AuditEvent


@dataclass(frozen=True)
class Email:
    recipient: str
    subject: str
    text: str
    html: str


def _template_for(event: dict) -> str | None:
    """A confirmed booking gets its tickets; a released one an email only when money went back, as
    does a payment sent back unused; seats offered from a waiting list, the link to claim them;
    tickets passed on, their new codes and the link to claim them, the same when their booking
    moved, and word when they are taken back; a device added to or removed from a paid booking,
    the booking as it now is; a buyer whose screening changed, their choices, and their
    receivers, who chooses; a booking moved, its new tickets."""
    detail = event.get("detail") or {}
    if event["kind"] == AuditEvent.Kind.BOOKING_CONFIRMED:
        return "booking_confirmed"
    if event["kind"] == AuditEvent.Kind.SEATS_RELEASED and detail.get("refunded"):
        return "booking_refunded"
    if event["kind"] == AuditEvent.Kind.PAYMENT_REFUNDED:
        return "payment_refunded"
    if event["kind"] == AuditEvent.Kind.WAITLIST_OFFERED:
        return "waitlist_offered"
    if event["kind"] in (AuditEvent.Kind.TICKETS_PASSED_ON, AuditEvent.Kind.PASSED_ON_MOVED):
        return "tickets_passed_on"
    if event["kind"] == AuditEvent.Kind.TRANSFER_CANCELLED:
        return "transfer_cancelled"
    if event["kind"] in (AuditEvent.Kind.DEVICE_ADDED, AuditEvent.Kind.DEVICE_REMOVED):
        return "booking_updated"
    if event["kind"] == AuditEvent.Kind.SCREENING_CHANGE_TOLD:
        return "screening_changed"
    if event["kind"] == AuditEvent.Kind.PASSED_ON_CHANGED:
        return "passed_on_changed"
    if event["kind"] == AuditEvent.Kind.BOOKING_MOVED:
        return "booking_moved"
    return None


def _venue() -> dict:
    """The cinema's `address` and its page's `path`, from the app that keeps them:
    settings.EMAIL_VENUE names the function (audit imports no other app); {} without one."""
    path = getattr(settings, "EMAIL_VENUE", "")
    return import_string(path)() if path else {}


def _moment(value: str | None) -> datetime | None:
    """A moment the event keeps in ISO, in the cinema's time."""
    return timezone.localtime(datetime.fromisoformat(value)) if value else None


def compose(event: dict) -> Email | None:
    """The email for a stream event, or None when the event sends none."""
    template = _template_for(event)
    detail = event.get("detail") or {}
    recipient = detail.get("email")
    if template is None or not recipient:
        return None
    starts_at = detail.get("starts_at")
    venue = _venue()
    context = {
        "ref": event["booking_ref"],
        "seats": event["seats"],
        "movie": detail.get("movie", ""),
        "auditorium": detail.get("auditorium", ""),
        "kinds": detail.get("kinds") or [],
        "access_notes": detail.get("access_notes", ""),
        "address": venue.get("address", ""),
        "venue_link": f"{settings.SITE_URL}{venue['path']}" if venue.get("path") else "",
        "starts_at": _moment(starts_at),
        "amount": detail.get("money") or detail.get("amount", ""),
        "tickets": detail.get("tickets") or [],
        "discount": detail.get("discount", ""),
        "voucher": detail.get("voucher", ""),
        "exchanged_from": detail.get("exchanged_from", ""),
        "devices": detail.get("devices") or [],
        # A device change: which one, by name, and whether it was added or removed.
        "device": detail.get("device_name", ""),
        "device_removed": event["kind"] == AuditEvent.Kind.DEVICE_REMOVED,
        "by_staff": detail.get("by_staff", False),
        "partial": detail.get("partial", False),
        "reason": detail.get("reason", ""),
        "until": _moment(detail.get("until")),
        "link": f"{settings.SITE_URL}{detail.get('booking_path', '/bookings/')}",
        # A changed screening: what happened to it, and the buyer's two choices.
        "what": detail.get("what", ""),
        "removed": detail.get("removed") or [],
        "was_starts_at": _moment(detail.get("was_starts_at")),
        "move_link": f"{settings.SITE_URL}{detail['move_path']}" if detail.get("move_path") else "",
        "refund_link": f"{settings.SITE_URL}{detail['refund_path']}"
        if detail.get("refund_path")
        else "",
        "cinema": settings.CINEMA_NAME,
        "sender": detail.get("sender", ""),
        # Tickets passed on: refunded to their buyer by staff, rather than taken back; moved with
        # their booking to another screening (its screening changed), rather than passed on.
        "refunded": detail.get("refunded", False),
        "moved": event["kind"] == AuditEvent.Kind.PASSED_ON_MOVED,
    }
    subject = render_to_string(f"audit/email/{template}_subject.txt", context)
    return Email(
        recipient=recipient,
        subject=" ".join(subject.split()),
        text=render_to_string(f"audit/email/{template}.txt", context),
        html=render_to_string(f"audit/email/{template}.html", context),
    )
