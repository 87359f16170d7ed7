from django.conf import settings
from django.db import models
from django.utils import timezone

from bookings.models import Ticket
from cinema.models import Showtime


class CheckIn(models.Model):
    """A ticket used at the door. One row a ticket (a UNIQUE constraint): two doors scanning the
    same ticket in the same instant admit it once, whichever row the database takes first."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="check_in")
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="check_ins")
    at = models.DateTimeField(default=timezone.now, help_text="When it was scanned.")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    device = models.CharField(max_length=40, blank=True)
    door = models.CharField(max_length=40, blank=True)
    offline = models.BooleanField(default=False, help_text="Scanned offline, uploaded later.")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["showtime", "at"])]
        permissions = [
            ("use_door", "Can scan tickets at the door, undo a check-in and keep the ticket list")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} at {self.at:%H:%M:%S}"


class OfflineScan(models.Model):
    """A scan a door made offline, as uploaded: its id (made by the device) is UNIQUE, so an
    upload sent twice changes nothing the second time."""

    scan_id = models.CharField(max_length=64, unique=True)
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=200)
    scanned_at = models.DateTimeField()
    device = models.CharField(max_length=40, blank=True)
    door = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=20)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.scan_id} {self.outcome}"
