import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from cinema.models import AccessDevice, Seat, Showtime, TicketType, Voucher

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
        EXCHANGED = "exchanged", "Exchanged"

    ref = models.CharField(max_length=REF_LENGTH, unique=True, default=new_ref, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = models.DecimalField(max_digits=9, decimal_places=2, help_text="What is charged.")
    seat_labels = models.JSONField(default=list, help_text="The seats asked for, in order.")
    lines = models.JSONField(
        default=list,
        blank=True,
        help_text="Each seat's ticket type and amounts as quoted when chosen: what is charged "
        "(cinema.pricing.Quote.as_data).",
    )
    voucher = models.ForeignKey(
        Voucher, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    discount = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    hold_token = models.CharField(max_length=64, blank=True)
    fence = models.BigIntegerField(null=True, blank=True, help_text="Fencing number of the hold.")
    expires_at = models.DateTimeField(null=True, blank=True)
    payment_ref = models.CharField(max_length=64, blank=True)
    exchange_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchanges",
        help_text="The paid booking this one replaces when it is confirmed (an exchange); its "
        "amount is then the difference to pay.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        # The staff roles' (accounts/migrations): Box office releases, Manager reads the sales.
        permissions = [
            ("release_hold", "Can release a customer's hold"),
            ("view_sales", "Can see the sales reports"),
        ]
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


def new_ticket_secret() -> str:
    return secrets.token_urlsafe(16)  # 128 bits: never guessed, never the same twice


class Ticket(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="tickets")
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="tickets")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="tickets")
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    category = models.CharField(max_length=12, choices=Seat.Kind.choices, default="standard")
    price = models.DecimalField(max_digits=9, decimal_places=2, help_text="What was paid for it.")
    discount = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, help_text="Taken off by a voucher."
    )
    sold_at = models.DateTimeField(default=timezone.now, db_index=True)
    secret = models.CharField(
        max_length=32,
        unique=True,
        default=new_ticket_secret,
        editable=False,
        help_text="What its QR code carries (signed); reissuing the ticket replaces it.",
    )
    transfer = models.ForeignKey(
        "Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text="The transfer that passed it on: its receiver holds it, not the buyer.",
    )

    class Meta:
        ordering = ["seat__y", "seat__x"]
        constraints = [
            # The last guard against selling a seat twice, whatever happens above it.
            models.UniqueConstraint(fields=["showtime", "seat"], name="ticket_seat_sold_once"),
        ]

    def __str__(self) -> str:
        return f"{self.booking.ref} {self.seat.label}"


class VoidTicket(models.Model):
    """A ticket's code that no longer admits anyone: the ticket was refunded (its row is gone,
    its seat back on sale) or reissued (a new secret). The door says which, not just "invalid"."""

    class Reason(models.TextChoices):
        REFUNDED = "refunded", "Refunded"
        REISSUED = "reissued", "Reissued"
        TRANSFERRED = "transferred", "Passed on to someone else"
        RECALLED = "recalled", "Passed on, then taken back"
        MOVED = "moved", "Moved to another screening"
        EXCHANGED = "exchanged", "Exchanged for other seats"

    ticket_id = models.BigIntegerField(db_index=True)
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="+")
    booking_ref = models.CharField(max_length=REF_LENGTH)
    seat_label = models.CharField(max_length=8)
    secret = models.CharField(max_length=32, unique=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    voided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.booking_ref} {self.seat_label} ({self.reason})"


class Transfer(models.Model):
    """Tickets of a paid booking passed on to someone else by email, for nothing through us.

    The tickets stay on the booking that paid for them, so its payment and refunds stay one
    record (a refund, which only staff may make of them, goes back to the card that paid); each
    points here instead (`Ticket.transfer`), which makes the receiver their holder. The account
    with the verified address `email` claims them; until then the sender may take them back."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent, not claimed yet"
        CLAIMED = "claimed", "Claimed"
        CANCELLED = "cancelled", "Taken back"

    ref = models.CharField(max_length=REF_LENGTH, unique=True, default=new_ref, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="transfers")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transfers_sent"
    )
    email = models.EmailField(help_text="Whom the tickets were passed on to.")
    seats = models.JSONField(default=list, help_text="The seats passed on.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SENT, db_index=True
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_received",
        help_text="The account that claimed them.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="claimed", receiver__isnull=False)
                | (~models.Q(status="claimed") & models.Q(receiver__isnull=True)),
                name="transfer_claimed_by_its_receiver",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {', '.join(self.seats)} to {self.email}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:transfer", kwargs={"ref": self.ref})


def new_key() -> str:
    return secrets.token_urlsafe(24)


class Payment(models.Model):
    """One attempt to take money for a booking: recorded and committed before the gateway is
    asked, so a crash at any point leaves a row that reconciliation can resolve."""

    class Status(models.TextChoices):
        CREATED = "created", "Recorded, gateway not asked yet"
        OPEN = "open", "On the gateway's page"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Not paid"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    # Fresh for every attempt: a retry after a failure or a crash can never reuse a charge.
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    session_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    charge = models.CharField(max_length=128, blank=True, help_text="The gateway's charge.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="payment_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_id} {self.status} {self.session_id or self.idempotency_key}"


class Refund(models.Model):
    """Money owed back on a payment: recorded (with the seats it frees) before the gateway is
    asked; REQUESTED until the gateway has done it, which reconciliation retries."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Owed, gateway not done yet"
        SUCCEEDED = "succeeded", "Refunded"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    seats = models.JSONField(default=list, blank=True, help_text="The seats this refund freed.")
    reason = models.CharField(max_length=40)
    why = models.TextField(blank=True, help_text="The staff member's reason.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    reference = models.CharField(max_length=128, blank=True, help_text="The gateway's refund.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment_id} ({self.status})"


class WebhookEvent(models.Model):
    """A gateway event that has been acted on: its UNIQUE id makes a second delivery a no-op."""

    event_id = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.event_id


class Waitlist(models.Model):
    """A sold-out showtime's waiting list: the row its offers take turns on, and staff's pause."""

    showtime = models.OneToOneField(
        Showtime, on_delete=models.PROTECT, primary_key=True, related_name="waitlist"
    )
    paused = models.BooleanField(
        default=False, help_text="Paused: customers may still join, but no seats are offered."
    )

    def __str__(self) -> str:
        return f"waiting list of showtime {self.showtime_id}"


class WaitlistEntry(models.Model):
    """One account waiting for seats of a showtime, first come first served (by `id`)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Seats offered"
        CLAIMED = "claimed", "Bought the seats offered"
        LAPSED = "lapsed", "Offer not taken"
        LEFT = "left", "Left the list"

    ACTIVE = (Status.WAITING, Status.OFFERED)

    waitlist = models.ForeignKey(Waitlist, on_delete=models.PROTECT, related_name="entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    seats = models.PositiveSmallIntegerField(help_text="How many seats they want, together.")
    categories = models.JSONField(
        default=list, blank=True, help_text="The seat kinds they accept; empty: any."
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.WAITING, db_index=True
    )
    booking = models.OneToOneField(
        Booking,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entry",
        help_text="The booking holding the seats offered.",
    )
    offered_until = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["waitlist", "user"],
                condition=models.Q(status__in=["waiting", "offered"]),
                name="waitlist_one_entry_per_account",
            ),
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="waitlist_seats_wanted"),
        ]

    def __str__(self) -> str:
        return f"{self.user} waiting for {self.seats} of showtime {self.waitlist_id}"


class DeviceLoan(models.Model):
    """An access device lent with a booking for its showtime. It counts against the hall's stock
    while its booking is PENDING or CONFIRMED (so an expired, cancelled or refunded booking gives
    it back by itself) and until it is returned at the door; once the showtime is over, nothing
    counts it any more."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="devices")
    # The booking's, kept here so the stock of one showtime is counted from one index.
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=AccessDevice.Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["showtime", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.booking}"


class ScreeningChange(models.Model):
    """Staff changed a screening its buyers chose it for: cancelled it, moved it to another
    time, or took away its access (bookings.services.access_changes says which count). Each
    buyer with a confirmed booking then is told once and may move or take their money back."""

    class Kind(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled"
        MOVED = "moved", "Moved to another time"
        ACCESS_REMOVED = "access_removed", "Access taken away"

    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    access = models.JSONField(
        default=dict, blank=True, help_text="The access it had before: what a move must match."
    )
    removed = models.JSONField(default=list, blank=True, help_text="The access taken away.")
    was_starts_at = models.DateTimeField(null=True, blank=True, help_text="Its start before.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: showtime {self.showtime_id}"


class ChangeNotice(models.Model):
    """One buyer told of one screening change, and what they chose: their links are good for
    one choice, while the booking is still confirmed for the changed screening."""

    class Choice(models.TextChoices):
        NONE = "", "Not chosen yet"
        MOVED = "moved", "Moved to another screening"
        REFUNDED = "refunded", "Refunded in full"

    change = models.ForeignKey(ScreeningChange, on_delete=models.PROTECT, related_name="notices")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="change_notices")
    choice = models.CharField(max_length=10, choices=Choice.choices, blank=True, default="")
    moved_to = models.ForeignKey(
        Showtime, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    chosen_at = models.DateTimeField(null=True, blank=True)
    told_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["change", "pk"]
        constraints = [
            # Told once per change, however often the change is saved or the telling runs.
            models.UniqueConstraint(fields=["change", "booking"], name="one_notice_per_booking"),
        ]

    def __str__(self) -> str:
        return f"{self.booking} told of {self.change}"
