"""Webhooks out: the endpoints staff register, what each is owed (a Delivery per event and type)
and every attempt at sending it.

A Delivery is made once: UNIQUE per endpoint, audit event and type, so the stream delivering an
event twice, or the stream and the database look both finding it, makes one. Its id (a UUID) and
its body never change, whichever attempt carries them: a receiver drops what it has seen by id.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from audit.models import AuditEvent


class EventType(models.TextChoices):
    BOOKING_CONFIRMED = "booking.confirmed", "booking.confirmed: a booking is paid for"
    BOOKING_REFUNDED = "booking.refunded", "booking.refunded: tickets of a booking are refunded"
    BOOKING_CANCELLED = "booking.cancelled", "booking.cancelled: a booking ends, unused"
    SHOWTIME_SOLD_OUT = "showtime.sold_out", "showtime.sold_out: its last seat is sold"
    SHOWTIME_CHANGED = "showtime.changed", "showtime.changed: its time, sale or prices change"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class Endpoint(models.Model):
    url = models.URLField("URL", max_length=500, help_text="Where the events are posted.")
    description = models.CharField(max_length=200, blank=True)
    types = models.JSONField(default=list, help_text="The event types it receives.")
    secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="What its deliveries are signed with; the receiver checks them with it. "
        "Blank makes a new one.",
    )
    active = models.BooleanField(
        default=True, help_text="Untick to stop making and sending its deliveries."
    )
    created_at = models.DateTimeField(
        default=timezone.now, help_text="It receives the events from this moment on."
    )
    looked_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Where the database look stopped."
    )

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.description or self.url

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = new_secret()
        super().save(*args, **kwargs)


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    uuid = models.UUIDField("delivery id", default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=32, choices=EventType.choices)
    subject = models.CharField(
        max_length=40, help_text="What it is about: its deliveries go out in order."
    )
    body = models.TextField(help_text="The JSON posted, the same at every attempt.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When it was made, or sent again: retries run from here."
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        permissions = [("send_again", "Can send a webhook delivery again")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "subject", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event", "type"], name="webhook_delivery_once_per_event"
            ),
            # A showtime sells out once for a receiver, whichever sale sold its last seat.
            models.UniqueConstraint(
                fields=["endpoint", "subject"],
                condition=models.Q(type=EventType.SHOWTIME_SOLD_OUT),
                name="webhook_sold_out_once_per_showtime",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"


class Attempt(models.Model):
    """One try at posting a delivery: what the receiver answered, or why nothing did."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response = models.CharField(max_length=300, blank=True, help_text="The answer's first bytes.")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%H:%M:%S}"
