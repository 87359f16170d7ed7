"""Access devices lent with a booking (audio-description headsets, caption devices): added by
the buyer, taken from the hall's stock for the showtime under a lock so it is never lent twice,
returned at the door."""

from django.db import transaction
from django.utils import timezone

from audit.services import Kind
from bookings.errors import BookingClosed, DeviceUnavailable, InvalidRequest
from bookings.models import Booking, DeviceLoan
from bookings.services.records import audit_booking, booking_facts, locked
from cinema.models import AccessDevice

# A loan counts against the stock while its booking can still be, or is, paid for.
LIVE_BOOKING = [Booking.Status.PENDING, Booking.Status.CONFIRMED]


def devices_left(*, showtime) -> list[tuple[str, str, int]]:
    """Each kind of device the showtime's hall lends: (kind, name, how many are still free)."""
    return [
        (
            device.kind,
            device.get_kind_display(),
            max(0, device.stock - _lent(showtime_id=showtime.pk, kind=device.kind)),
        )
        for device in AccessDevice.objects.filter(auditorium_id=showtime.auditorium_id, stock__gt=0)
    ]


def _lent(*, showtime_id: int, kind: str) -> int:
    return DeviceLoan.objects.filter(
        showtime_id=showtime_id, kind=kind, returned_at=None, booking__status__in=LIVE_BOOKING
    ).count()


def add_device(*, booking: Booking, kind: str, actor) -> DeviceLoan:
    """Lend one device of `kind` with the booking (one per seat at most), or refuse: no
    showtime ever lends more than the hall has."""
    if kind not in AccessDevice.Kind.values:
        raise InvalidRequest("Choose an audio-description headset or a caption device.")
    with transaction.atomic():
        booking = locked(booking)
        if booking.status not in LIVE_BOOKING or not booking.showtime.is_upcoming:
            raise BookingClosed("Devices can be added only before the showtime starts.")
        if booking.devices.count() >= len(booking.seat_labels):
            raise InvalidRequest("One device per seat: this booking has one for every seat.")
        # The hall's stock row is the lock every buyer of the showtime's devices queues on.
        stock = (
            AccessDevice.objects.select_for_update()
            .filter(auditorium_id=booking.showtime.auditorium_id, kind=kind)
            .first()
        )
        name = AccessDevice.Kind(kind).label.lower()
        if stock is None or stock.stock == 0:
            raise DeviceUnavailable(f"This auditorium has no {name}s to lend.")
        if _lent(showtime_id=booking.showtime_id, kind=kind) >= stock.stock:
            raise DeviceUnavailable(
                f"Sorry, every {name} is already lent for this showtime. Ask at the box office."
            )
        loan = DeviceLoan.objects.create(booking=booking, showtime=booking.showtime, kind=kind)
        audit_booking(
            Kind.DEVICE_ADDED, booking, actor=actor, device=kind, loan=loan.pk, **_told(loan)
        )
    return loan


def remove_device(*, booking: Booking, loan_id: int, actor) -> None:
    """Give back a device added to the booking, before the showtime starts."""
    with transaction.atomic():
        booking = locked(booking)
        loan = booking.devices.filter(pk=loan_id, returned_at=None).first()
        if loan is None:
            raise InvalidRequest("That device is not on this booking.")
        if not booking.showtime.is_upcoming:
            raise BookingClosed("The showtime has started: hand the device back at the door.")
        loan.delete()
        audit_booking(
            Kind.DEVICE_REMOVED,
            booking,
            actor=actor,
            device=loan.kind,
            loan=loan_id,
            **_told(loan),
        )


def _told(loan: DeviceLoan) -> dict:
    """A paid booking's buyer is emailed the change (audit.emails) with the booking as it now
    is: their confirmation names the devices it had then. Before paying, the confirmation will."""
    if loan.booking.status != Booking.Status.CONFIRMED:
        return {}
    return {**booking_facts(loan.booking), "device_name": loan.get_kind_display()}


def return_device(*, loan: DeviceLoan, actor) -> DeviceLoan:
    """Staff at the door take a device back; returning it twice changes nothing."""
    with transaction.atomic():
        loan = DeviceLoan.objects.select_for_update().select_related("booking").get(pk=loan.pk)
        if loan.returned_at is None:
            loan.returned_at = timezone.now()
            loan.save(update_fields=["returned_at"])
            audit_booking(
                Kind.DEVICE_RETURNED, loan.booking, actor=actor, device=loan.kind, loan=loan.pk
            )
    return loan
