"""Access devices lent with bookings: taken from the hall's stock per showtime and never lent
more than it has (20 buyers at once on PostgreSQL), one per seat, given back when the booking
expires or is refunded, shown on the ticket page, the PDF, the email and at the door, and taken
back by the door staff."""

import time
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.notifier import Notifier
from bookings import services, ticket_codes, tickets
from bookings.errors import DeviceUnavailable, InvalidRequest
from bookings.models import Booking, DeviceLoan
from checkin import services as door
from checkin.services import Door
from cinema.models import AccessDevice, Auditorium
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import pay, verified_user
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db

HEADSET = AccessDevice.Kind.AUDIO_DESCRIPTION


def _stock(showtime, count: int, kind: str = HEADSET) -> None:
    AccessDevice.objects.create(auditorium=showtime.auditorium, kind=kind, stock=count)


def _hold(showtime, name: str, labels: list[str]) -> Booking:
    return services.hold_seats(user=verified_user(name), showtime=showtime, labels=labels)


def test_a_showtime_lends_no_more_than_the_hall_has(showtime):
    _stock(showtime, 2)
    first, second, third = (
        _hold(showtime, name, [label]) for name, label in (("a1", "A1"), ("a2", "A2"), ("a3", "A3"))
    )
    for booking in (first, second):
        services.add_device(booking=booking, kind=HEADSET, actor=booking.user)
    with pytest.raises(DeviceUnavailable, match="every audio-description headset is already"):
        services.add_device(booking=third, kind=HEADSET, actor=third.user)
    with pytest.raises(DeviceUnavailable, match="no caption devices"):
        services.add_device(booking=third, kind=AccessDevice.Kind.CAPTIONS, actor=third.user)
    assert services.devices_left(showtime=showtime) == [(HEADSET, "Audio-description headset", 0)]


def test_one_device_per_seat(showtime, user):
    _stock(showtime, 5)
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    services.add_device(booking=booking, kind=HEADSET, actor=user)
    with pytest.raises(InvalidRequest, match="One device per seat"):
        services.add_device(booking=booking, kind=HEADSET, actor=user)
    with pytest.raises(InvalidRequest):
        services.add_device(booking=booking, kind="jetpack", actor=user)


def test_an_expired_or_refunded_booking_gives_its_device_back(showtime):
    _stock(showtime, 1)
    lapsed = _hold(showtime, "late", ["A1"])
    services.add_device(booking=lapsed, kind=HEADSET, actor=lapsed.user)
    Booking.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.expire_stale_bookings()
    paid = _hold(showtime, "paid", ["A2"])
    services.add_device(booking=paid, kind=HEADSET, actor=paid.user)
    pay(paid)
    waiting = _hold(showtime, "waits", ["A3"])
    with pytest.raises(DeviceUnavailable):
        services.add_device(booking=waiting, kind=HEADSET, actor=waiting.user)
    services.cancel_booking(booking=Booking.objects.get(pk=paid.pk))
    services.add_device(booking=waiting, kind=HEADSET, actor=waiting.user)
    kinds = AuditEvent.objects.filter(kind=AuditEvent.Kind.DEVICE_ADDED)
    assert kinds.count() == 3


def test_the_ticket_page_pdf_and_email_say_which_device(showtime, user, redis_db):
    _stock(showtime, 1)
    client = Client()
    client.force_login(user)
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    checkout = client.get(booking.get_absolute_url()).content.decode()
    assert "Borrow a device for the show" in checkout
    added = client.post(f"/bookings/{booking.ref}/devices/", {"kind": HEADSET})
    assert added.status_code == 303
    refused = client.post(f"/bookings/{booking.ref}/devices/", {"kind": HEADSET})
    assert refused.status_code == 400 and "One device per seat" in refused.content.decode()
    pay(booking)

    page = client.get(booking.get_absolute_url()).content.decode()
    assert "<dt>Devices</dt><dd>Audio-description headset</dd>" in page
    pdf = tickets.tickets_pdf(Booking.objects.get(pk=booking.pk))
    streams = [
        zlib.decompress(part.split(b"stream\n", 1)[1])
        for part in pdf.split(b"endstream")[:-1]
        if b"/FlateDecode" in part
    ]
    assert any(b"Collect at the door: Audio-description headset" in text for text in streams)
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    Notifier(consumer="test", block_ms=1).handle(confirmed.as_message())
    (email,) = mail.outbox
    assert "Devices:    Audio-description headset, to collect at the door" in email.body


def test_a_device_added_or_removed_after_paying_sends_one_updated_booking_email(
    showtime, user, redis_db
):
    """The confirmation named the devices of the booking as it was; a change after paying is
    told once, with the tickets again. Before paying, the confirmation itself tells it."""
    _stock(showtime, 1)
    _stock(showtime, 1, kind=AccessDevice.Kind.CAPTIONS)
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1", "A2"])
    services.add_device(booking=booking, kind=HEADSET, actor=user)
    booking = pay(booking)
    services.add_device(booking=booking, kind=AccessDevice.Kind.CAPTIONS, actor=user)
    caption = booking.devices.get(kind=AccessDevice.Kind.CAPTIONS)
    services.remove_device(booking=booking, loan_id=caption.pk, actor=user)

    notifier = Notifier(consumer="test", block_ms=1)
    changes = AuditEvent.objects.filter(
        kind__in=[AuditEvent.Kind.DEVICE_ADDED, AuditEvent.Kind.DEVICE_REMOVED]
    ).order_by("pk")
    for event in [*changes, *changes]:
        notifier.handle(event.as_message())
    added, removed = mail.outbox
    for email in (added, removed):
        assert email.subject.startswith("Your booking has changed") and booking.ref in email.subject
        assert email.attachments[0][0] == f"tickets-{booking.ref}.pdf"
        assert booking.get_absolute_url() in email.body
    assert "Caption device added to your booking" in added.body
    assert "Devices:    Audio-description headset, Caption device, to collect" in added.body
    assert "Caption device removed from your booking" in removed.body
    assert "Devices:    Audio-description headset, to collect" in removed.body
    owed = set(AuditEvent.objects.emailing().filter(kind__startswith="device"))
    assert owed == set(changes[1:])  # not the device added before paying


def test_the_door_hands_the_device_out_and_takes_it_back(showtime, user, staff):
    _stock(showtime, 1)
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1", "A2"])
    services.add_device(booking=booking, kind=HEADSET, actor=user)
    booking = pay(booking)
    first, second = booking.tickets.order_by("seat__x")
    outcome = door.scan(showtime=showtime, code=_code(first), door=Door(staff=None))
    assert outcome.message == "Admit: A1 Adult · give audio-description headset"
    outcome = door.scan(showtime=showtime, code=_code(second), door=Door(staff=None))
    assert outcome.message == "Admit: A2 Adult"

    page = staff.get(f"/checkin/{showtime.pk}/").content.decode()
    assert "Audio-description headset · booking" in page and ">Returned</button>" in page
    loan = DeviceLoan.objects.get()
    returned = staff.post(f"/checkin/{showtime.pk}/devices/return/", {"loan": loan.pk})
    assert returned.status_code == 303
    loan.refresh_from_db()
    assert loan.returned_at is not None
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DEVICE_RETURNED).count() == 1
    assert staff.post(f"/checkin/{showtime.pk}/devices/return/", {"loan": "x"}).status_code == 404


def test_customers_cannot_mark_a_device_returned(showtime, user):
    client = Client()
    client.force_login(user)
    assert client.post(f"/checkin/{showtime.pk}/devices/return/", {"loan": 1}).status_code == 403


def _code(ticket) -> str:
    return ticket_codes.encode(
        showtime_id=ticket.showtime_id, ticket_id=ticket.pk, secret=ticket.secret
    )


def _add_headset(booking):
    """A buyer adding a headset, trying again (as a browser would) when the web process finds
    no free database connection: 20 threads share a pool of DATABASE_POOL_SIZE, and those
    queued on the stock's lock keep theirs."""
    for _ in range(50):
        try:
            return services.add_device(booking=booking, kind=HEADSET, actor=booking.user)
        except OperationalError as error:
            if "couldn't get a connection" not in str(error):
                raise
            time.sleep(0.05)
    raise AssertionError("no database connection after 50 tries")


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_at_once_never_get_more_devices_than_the_hall_has(movie):
    hall = save_auditorium(
        auditorium=Auditorium(name="Race Hall", layout="A  ssssssssss\nB  ssssssssss")
    )
    showtime = schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=3),
        price_list=one_price_list(Decimal("10.00")),
    )
    _stock(showtime, 5)
    labels = [f"{row}{number}" for row in "AB" for number in range(1, 11)]
    buyers = [_hold(showtime, f"buyer{n}", [label]) for n, label in enumerate(labels)]
    outcomes = at_once(_add_headset, buyers)
    lent = [value for value in outcomes.values() if isinstance(value, DeviceLoan)]
    refused = [value for value in outcomes.values() if isinstance(value, DeviceUnavailable)]
    assert (len(lent), len(refused)) == (5, 15), [repr(value) for value in outcomes.values()]
    assert DeviceLoan.objects.filter(showtime=showtime).count() == 5
