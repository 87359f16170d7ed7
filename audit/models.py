"""The audit trail: what happened, to which booking and seats, when, and who did it.

Rows are written once and never changed or deleted (`save()` of a stored row and queryset
updates and deletes raise). Events carry ids and plain data, never foreign keys into the other
apps, so the trail outlives whatever it describes.
"""

from functools import cached_property

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit import display


class AuditEventChanged(Exception):
    """Raised on any attempt to change or delete a recorded audit event."""


# The events `audit.emails.compose` writes an email for: a confirmed booking, released seats whose
# money went back, a payment sent back unused, seats offered from a waiting list, tickets passed
# on, taken back or moved with their booking (to their receiver), a device added to or removed
# from a paid booking, a buyer (and their receivers) told their screening changed, and a booking
# moved to another screening, each with a recipient (only a paid booking's device change
# carries one). A test keeps this in step with `compose`.
EMAILING = (
    (
        models.Q(kind="booking_confirmed")
        | models.Q(kind="seats_released", detail__refunded=True)
        | models.Q(kind="payment_refunded")
        | models.Q(kind="waitlist_offered")
        | models.Q(kind="tickets_passed_on")
        | models.Q(kind="transfer_cancelled")
        | models.Q(kind__in=["passed_on_moved", "passed_on_changed"])
        | models.Q(kind__in=["device_added", "device_removed"])
        | models.Q(kind="screening_change_told")
        | models.Q(kind="booking_moved")
    )
    & models.Q(detail__has_key="email")
    & ~models.Q(detail__email="")
    & ~models.Q(detail__email=None)
)


class AuditEventQuerySet(models.QuerySet):
    def emailing(self):
        """Events that owe someone an email."""
        return self.filter(EMAILING)

    def unnotified(self):
        """Events with no Notification row: no email has been sent for them."""
        return self.exclude(
            models.Exists(Notification.objects.filter(event_id=models.OuterRef("pk")))
        )

    def update(self, **kwargs):
        raise AuditEventChanged("Audit events are append-only.")

    def delete(self):
        raise AuditEventChanged("Audit events are append-only.")


class AuditEvent(models.Model):
    class Kind(models.TextChoices):
        HOLD_PLACED = "hold_placed", "Hold placed"
        HOLD_EXTENDED = "hold_extended", "Hold extended"
        BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
        HOLD_EXPIRED = "hold_expired", "Hold expired"
        SEATS_RELEASED = "seats_released", "Seats released"
        WHEELCHAIR_RELEASED = "wheelchair_released", "Wheelchair spaces on general sale"
        WHEELCHAIR_KEPT = "wheelchair_kept", "Wheelchair spaces kept back again"
        DEVICE_ADDED = "device_added", "Access device added"
        DEVICE_REMOVED = "device_removed", "Access device removed"
        DEVICE_RETURNED = "device_returned", "Access device returned"
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAYMENT_REFUNDED = "payment_refunded", "Payment refunded"
        REFUND_SENT = "refund_sent", "Refund sent"
        WEBHOOK_REJECTED = "webhook_rejected", "Webhook rejected"
        PRICES_CHANGED = "prices_changed", "Prices changed"
        TICKETS_CHOSEN = "tickets_chosen", "Ticket types chosen"
        VOUCHER_REDEEMED = "voucher_redeemed", "Voucher redeemed"
        VOUCHER_RETURNED = "voucher_returned", "Voucher use given back"
        VOUCHERS_ISSUED = "vouchers_issued", "Vouchers issued"
        TICKET_REISSUED = "ticket_reissued", "Ticket reissued"
        TICKETS_PASSED_ON = "tickets_passed_on", "Tickets passed on"
        TRANSFER_CLAIMED = "transfer_claimed", "Passed-on tickets claimed"
        TRANSFER_CANCELLED = "transfer_cancelled", "Passed-on tickets taken back"
        PASSED_ON_MOVED = "passed_on_moved", "Passed-on tickets moved with their booking"
        PASSED_ON_CHANGED = "passed_on_changed", "Receiver told their screening changed"
        CHECKED_IN = "checked_in", "Checked in"
        CHECK_IN_REFUSED = "check_in_refused", "Check-in refused"
        CHECK_IN_UNDONE = "check_in_undone", "Check-in undone"
        CHECK_IN_CONFLICT = "check_in_conflict", "Check-in conflict"
        WAITING_ROOM_ADMITTED = "waiting_room_admitted", "Shoppers let in from the queue"
        WAITING_ROOM_CHANGED = "waiting_room_changed", "Waiting room changed"
        SHOWTIME_CHANGED = "showtime_changed", "Showtime changed"
        SHOWTIME_CANCELLED = "showtime_cancelled", "Showtime cancelled"
        SCREENING_CHANGE_TOLD = "screening_change_told", "Buyer told their screening changed"
        BOOKING_MOVED = "booking_moved", "Booking moved to another screening"
        WEBHOOK_SENT_AGAIN = "webhook_sent_again", "Webhook sent again"
        WAITLIST_JOINED = "waitlist_joined", "Joined the waiting list"
        WAITLIST_OFFERED = "waitlist_offered", "Seats offered from the waiting list"
        WAITLIST_CLAIMED = "waitlist_claimed", "Waiting list offer bought"
        WAITLIST_LAPSED = "waitlist_lapsed", "Waiting list offer lapsed"
        WAITLIST_LEFT = "waitlist_left", "Left the waiting list"
        WAITLIST_PAUSED = "waitlist_paused", "Waiting list paused or resumed"
        EXCHANGE_STARTED = "exchange_started", "Exchange started"
        BOOKING_EXCHANGED = "booking_exchanged", "Booking exchanged"
        SYSTEM_ERROR = "system_error", "System error"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did it; empty for the system (the sweeper, an error).",
    )
    showtime_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    booking_ref = models.CharField(max_length=32, blank=True, db_index=True)
    seats = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [("view_system", "Can see the system page")]
        indexes = [
            # The notifier's look for lost emails scans recent email-causing events only.
            models.Index(
                fields=["occurred_at", "id"], condition=EMAILING, name="audit_event_emailing_idx"
            ),
        ]

    def __str__(self) -> str:
        subject = self.booking_ref or (f"showtime {self.showtime_id}" if self.showtime_id else "")
        return f"{self.get_kind_display()} {subject}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventChanged("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventChanged("Audit events are append-only.")

    @cached_property
    def showtime_name(self) -> str:
        """The showtime as staff read it, "Film, Wed 25 Nov 19:30" (`display.name_showtimes`
        fills this in for a whole page of events at once)."""
        return display.name_of(self.showtime_id, display.showtime_names([self.showtime_id]))

    def as_message(self) -> dict:
        """The event as plain data: what goes on the stream and to the notifier."""
        return {
            "id": self.pk,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "actor_id": self.actor_id,
            "showtime_id": self.showtime_id,
            "booking_ref": self.booking_ref,
            "seats": self.seats,
            "detail": self.detail,
            "request_id": self.request_id,
        }


class Unpublished(models.Model):
    """An event committed to the database but not yet appended to the stream (the outbox)."""

    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, primary_key=True)

    class Meta:
        verbose_name_plural = "unpublished events"

    def __str__(self) -> str:
        return f"event {self.event_id} (not on the stream yet)"


class Notification(models.Model):
    """One email sent for one event: the guard against sending twice; an email-causing event
    without one still owes its email."""

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="+")
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipient}"
