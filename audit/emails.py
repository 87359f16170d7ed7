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
    does a payment sent back unused; seats offered from a waiting list, the link to claim them."""
    detail = event.get("detail") or {}
    if event["kind"] == AuditEvent.Kind.BOOKING_CONFIRMED:
        return "booking_confirmed"
    if event["kind"] == AuditEvent.Kind.SEATS_RELEASED and detail.get("refunded"):
        return "booking_refunded"
    if event["kind"] == AuditEvent.Kind.PAYMENT_REFUNDED:
        return "payment_refunded"
    if event["kind"] == AuditEvent.Kind.WAITLIST_OFFERED:
        return "waitlist_offered"
    return None


def _venue() -> dict:
    """The cinema's `address` and its page's `path`, from the app that keeps them:
    settings.EMAIL_VENUE names the function (audit imports no other app); {} without one."""
    path = getattr(settings, "EMAIL_VENUE", "")
    return import_string(path)() if path else {}


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
        "starts_at": timezone.localtime(datetime.fromisoformat(starts_at)) if starts_at else None,
        "amount": detail.get("money") or detail.get("amount", ""),
        "tickets": detail.get("tickets") or [],
        "discount": detail.get("discount", ""),
        "voucher": detail.get("voucher", ""),
        "devices": detail.get("devices") or [],
        "by_staff": detail.get("by_staff", False),
        "partial": detail.get("partial", False),
        "reason": detail.get("reason", ""),
        "until": timezone.localtime(datetime.fromisoformat(detail["until"]))
        if detail.get("until")
        else None,
        "link": f"{settings.SITE_URL}{detail.get('booking_path', '/bookings/')}",
        "cinema": settings.CINEMA_NAME,
    }
    subject = render_to_string(f"audit/email/{template}_subject.txt", context)
    return Email(
        recipient=recipient,
        subject=" ".join(subject.split()),
        text=render_to_string(f"audit/email/{template}.txt", context),
        html=render_to_string(f"audit/email/{template}.html", context),
    )
