import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from cinema.models import Seat, Showtime

# Crockford's base32 without I, L, O, U: easy to read out over the phone.
REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REF_LENGTH = 12  # 60 bits: unguessable, still short enough to type


def new_ref() -> str:
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


class Booking(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending payment"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    ref = models.CharField(max_length=REF_LENGTH, unique=True, default=new_ref, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    seat_labels = models.JSONField(default=list, help_text="The seats asked for, in order.")
    hold_token = models.CharField(max_length=64, blank=True)
    fence = models.BigIntegerField(null=True, blank=True, help_text="Fencing number of the hold.")
    expires_at = models.DateTimeField(null=True, blank=True)
    payment_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="booking_amount_not_negative"
            ),
            # One open hold per user and showtime: a second one replaces the first.
            models.UniqueConstraint(
                fields=["user", "showtime"],
                condition=models.Q(status="pending"),
                name="booking_one_pending_per_user_showtime",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    def get_absolute_url(self) -> str:
        return reverse("bookings:detail", kwargs={"ref": self.ref})


class Ticket(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="tickets")
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="tickets")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="tickets")

    class Meta:
        ordering = ["seat__y", "seat__x"]
        constraints = [
            # The last guard against selling a seat twice, whatever happens above it.
            models.UniqueConstraint(fields=["showtime", "seat"], name="ticket_seat_sold_once"),
        ]

    def __str__(self) -> str:
        return f"{self.booking.ref} {self.seat.label}"


class Payment(models.Model):
    """What the gateway did for a booking: charges and refunds, as recorded on our side."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    reference = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"
