"""What each change is sent as, and to whom: the audit events as the webhook types receivers ask
for, from when each receiver was registered."""

import json
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from bookings import services
from bookings.errors import SalesEnded
from cinema.models import Auditorium, PriceList
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import pay, start_paying, verified_user
from webhooks.models import Delivery, EventType
from webhooks.tests.conftest import endpoint_for, made

pytestmark = pytest.mark.django_db(transaction=True)

URL = "http://127.0.0.1:9/hooks/"


def sent(**filters) -> list[tuple[str, dict]]:
    """(type, data) of each delivery made, in the order they go out."""
    deliveries = Delivery.objects.filter(**filters).order_by("event_id", "id")
    return [(delivery.type, json.loads(delivery.body)["data"]) for delivery in deliveries]


def test_a_hold_cancelled_by_its_buyer_or_released_by_staff_is_booking_cancelled(
    showtime, user, bob, staff_user, worker
):
    endpoint_for(URL)
    mine = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.cancel_booking(booking=mine)
    theirs = services.hold_seats(user=bob, showtime=showtime, labels=["B3"])
    services.staff_cancel(booking=theirs, actor=staff_user)
    worker.read()
    assert sent() == [
        (
            EventType.BOOKING_CANCELLED,
            {
                "booking": booking.ref,
                "showtime": showtime.pk,
                "seats": [seat],
                "status": "cancelled",
                "refunded": False,
            },
        )
        for booking, seat in ((mine, "A3"), (theirs, "B3"))
    ]


def test_a_hold_that_runs_out_or_whose_sales_stop_is_not_a_cancellation(
    showtime, user, bob, worker
):
    endpoint_for(URL)
    lapsed = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.expire_booking(booking=lapsed, now=timezone.now() + timedelta(hours=1))
    stopped = services.hold_seats(user=bob, showtime=showtime, labels=["B3"])
    showtime.on_sale = False
    showtime.save(update_fields=["on_sale"])
    with pytest.raises(SalesEnded):
        start_paying(stopped)
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"hold_expired", "seats_released"} <= kinds
    worker.read()
    assert made() == []


def test_a_partial_refund_is_booking_refunded_and_the_last_one_cancels_it(
    showtime, user, staff_user, worker
):
    endpoint_for(URL, types=[EventType.BOOKING_REFUNDED, EventType.BOOKING_CANCELLED])
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))
    (first,) = services.refund_tickets(
        booking=booking, actor=staff_user, reason="refunded by staff", labels=["A3"]
    ).refunds
    (last,) = services.refund_tickets(
        booking=booking, actor=staff_user, reason="refunded by staff"
    ).refunds
    worker.read()
    facts = {
        "booking": booking.ref,
        "showtime": showtime.pk,
        "movie": "Test Film",
        "auditorium": "Test Hall",
        "starts_at": showtime.starts_at.isoformat(),
    }
    assert sent() == [
        (
            EventType.BOOKING_REFUNDED,
            {
                **facts,
                "seats": ["A3"],
                "status": "confirmed",
                "refund": first.pk,
                "partial": True,
                "amount": "10.00",
                "currency": "GBP",
            },
        ),
        (
            EventType.BOOKING_REFUNDED,
            {
                **facts,
                "seats": ["A4"],
                "status": "cancelled",
                "refund": last.pk,
                "partial": False,
                "amount": "10.00",
                "currency": "GBP",
            },
        ),
        (
            EventType.BOOKING_CANCELLED,
            {**facts, "seats": ["A4"], "status": "cancelled", "refunded": True},
        ),
    ]


def test_a_showtime_sells_out_once_whichever_sale_sells_its_last_seat(
    movie, user, bob, staff_user, worker
):
    tiny = save_auditorium(auditorium=Auditorium(name="Tiny", layout="A  sxs\n"))
    showtime = schedule_showtime(
        movie=movie,
        auditorium=tiny,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    endpoint_for(URL, types=[EventType.SHOWTIME_SOLD_OUT])
    pay(services.hold_seats(user=user, showtime=showtime, labels=["A1"]))
    worker.read()
    assert made() == []
    last_seat = pay(services.hold_seats(user=bob, showtime=showtime, labels=["A3"]))
    worker.read()  # the blocked seat A2 is never offered: sold out
    assert sent() == [
        (
            EventType.SHOWTIME_SOLD_OUT,
            {
                "showtime": showtime.pk,
                "movie": "Test Film",
                "starts_at": showtime.starts_at.isoformat(),
            },
        )
    ]
    assert Delivery.objects.get().event.booking_ref == last_seat.ref

    # A seat comes back and sells again: sold out again, but receivers were told once.
    services.staff_cancel(booking=last_seat, actor=staff_user)
    pay(services.hold_seats(user=verified_user("cat"), showtime=showtime, labels=["A3"]))
    worker.read()
    assert made() == [EventType.SHOWTIME_SOLD_OUT]


def test_a_staff_change_to_a_showtime_or_its_price_list_is_showtime_changed(
    client, staff_user, showtime, worker
):
    client.force_login(staff_user)
    endpoint_for(URL, types=[EventType.SHOWTIME_CHANGED])
    was = showtime.starts_at
    moved = timezone.localtime(was + timedelta(hours=2)).replace(microsecond=0)
    response = client.post(
        f"/admin/cinema/showtime/{showtime.pk}/change/",
        {
            "movie": showtime.movie.pk,
            "auditorium": showtime.auditorium.pk,
            "starts_at_0": moved.strftime("%Y-%m-%d"),
            "starts_at_1": moved.strftime("%H:%M:%S"),
            "price_list": showtime.price_list.pk,
            "on_sale": "on",
            "format": showtime.format,
        },
    )
    assert response.status_code == 302, response.text
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.SHOWTIME_CHANGED)
    assert event.actor == staff_user and event.showtime_id == showtime.pk
    assert event.detail == {
        "changed": ["starts_at"],
        "starts_at": moved.astimezone(UTC).isoformat(),
        "was": {"starts_at": was.isoformat()},
    }
    peak = PriceList.objects.create(name="Peak")
    client.post(
        "/admin/cinema/showtime/",
        {
            "action": "use_price_list",
            "_selected_action": [showtime.pk],
            "apply": "yes",
            "price_list": str(peak.pk),
        },
    )
    worker.read()
    assert sent() == [
        (
            EventType.SHOWTIME_CHANGED,
            {
                "showtime": showtime.pk,
                "changed": ["starts_at"],
                "starts_at": moved.astimezone(UTC).isoformat(),
                "previous": {"starts_at": was.isoformat()},
            },
        ),
        (
            EventType.SHOWTIME_CHANGED,
            {
                "showtime": showtime.pk,
                "changed": ["price_list"],
                "price_list": "Peak",
                "previous": {"price_list": "Standard 10.00"},
            },
        ),
    ]


def test_an_endpoint_gets_the_types_it_wants_from_when_it_was_registered(
    showtime, user, staff_user, worker
):
    confirmations = endpoint_for(URL, types=[EventType.BOOKING_CONFIRMED])
    refunds = endpoint_for(URL, types=[EventType.BOOKING_REFUNDED])
    switched_off = endpoint_for(URL, active=False)
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    newcomer = endpoint_for(URL, created_at=timezone.now())
    services.staff_cancel(booking=booking, actor=staff_user)
    worker.read()
    assert made(endpoint=confirmations) == [EventType.BOOKING_CONFIRMED]
    assert made(endpoint=refunds) == [EventType.BOOKING_REFUNDED]
    assert made(endpoint=switched_off) == []
    # Registered after the sale: it hears of the refund, not of the confirmation before it.
    assert made(endpoint=newcomer) == [EventType.BOOKING_REFUNDED, EventType.BOOKING_CANCELLED]
