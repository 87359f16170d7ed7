"""Expiry: PENDING bookings whose hold ran out or vanished end, and holds that ended by
themselves are announced to the seat map's viewers (the sweeper's two jobs)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Kind
from bookings import checkout
from bookings.models import Booking, Payment
from bookings.services import seat_changes
from bookings.services.rules import holds_its_seats
from bookings.services.settling import sync_payment
from cinema.models import Showtime
from seats import holds


def expire_booking(*, booking: Booking, now: datetime | None = None) -> Booking | None:
    """Expire a PENDING booking whose hold is gone or past its time; None if it is still live."""
    now = now or timezone.now()
    # A payment may have gone through with its webhook still on the way (or lost): ask the
    # gateway before giving the seats away, whether the hold ran out on time or vanished early.
    open_payments = Payment.objects.filter(booking=booking, status=Payment.Status.OPEN)
    for payment in open_payments.select_related("booking"):
        if _hold_ended(payment.booking, now):
            sync_payment(payment=payment)
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING:
            return None
        if not _hold_ended(booking, now):
            return None
        timed_out = booking.expires_at is None or booking.expires_at <= now
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        seat_changes.seats_freed(
            kind=Kind.HOLD_EXPIRED,
            booking=booking,
            reason="timeout" if timed_out else "hold vanished",
        )
        checkout.give_back_voucher(booking, reason="expired")
    return booking


def _hold_ended(booking: Booking, now: datetime) -> bool:
    timed_out = booking.expires_at is None or booking.expires_at <= now
    return timed_out or not holds_its_seats(booking)


def expire_stale_bookings(*, now: datetime | None = None) -> list[Booking]:
    """Expire every PENDING booking past its time or without its hold; safe in many processes."""
    now = now or timezone.now()
    pending = Booking.objects.filter(status=Booking.Status.PENDING).only("pk")
    expired = (expire_booking(booking=booking, now=now) for booking in pending)
    return [booking for booking in expired if booking is not None]


def announce_lapsed_holds() -> list[str]:
    """Tell the viewers of every seat whose hold has ended by itself since the last pass, in
    the showtimes that can still have holds; returns the seats (as `<showtime>:<label>`)."""
    # No hold is placed once a showtime starts, and none lives longer than this.
    longest = settings.HOLD_TTL_SECONDS * (1 + settings.HOLD_MAX_EXTENSIONS)
    since = timezone.now() - timedelta(seconds=longest)
    watched = Showtime.objects.filter(starts_at__gte=since).values_list("pk", flat=True)
    lapsing = holds.with_lapses(list(watched))
    return [
        f"{showtime.pk}:{label}"
        for showtime in Showtime.objects.filter(pk__in=lapsing).select_related("auditorium")
        for label in seat_changes.holds_lapsed(showtime=showtime)
    ]
