"""Many buyers at once, and Redis losing its memory mid-sale: never a seat sold twice.

These need a database that lets writers work side by side (PostgreSQL); SQLite serialises every
write transaction, so CI runs them in its PostgreSQL pass.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.errors import HoldLimitReached, HoldLost, SeatsUnavailable
from bookings.models import Booking, Refund, Ticket
from bookings.services import settling
from cinema.services import one_price_list, schedule_showtime
from conftest import deliver_webhooks, pay_on_gateway, start_paying, verified_user
from payments.mock.models import MockRefund, MockSession
from seats import holds
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = [pytest.mark.django_db(transaction=True), POSTGRES_ONLY]


def _pay(booking) -> Booking:
    """The buyer pays on the gateway's page and its webhook for that page alone arrives (other
    buyers' webhooks are their own threads' to deliver)."""
    gateway = Client()
    pay_on_gateway(gateway, start_paying(booking))
    deliver_webhooks(gateway, session_id=booking.payments.get().session_id)
    booking.refresh_from_db()
    return booking


def _charged(booking) -> Decimal:
    """What the gateway kept of the buyer's money for the booking: taken less given back."""
    sessions = MockSession.objects.filter(
        id__in=booking.payments.values("session_id"), status="paid"
    )
    taken = sessions.aggregate(total=Sum("amount"))["total"] or 0
    given_back = MockRefund.objects.filter(session__in=sessions).aggregate(total=Sum("amount"))
    return taken - (given_back["total"] or 0)


def test_racing_buyers_never_share_a_seat(showtime):
    users = [verified_user(f"buyer{n}") for n in range(50)]
    # Overlapping blocks side by side in A3-A6 and B3-B6 (between aisles), across both rows
    # too; none leaves a seat alone whatever else is held, so every loser lost a seat.
    blocks = [["A3", "A4", "A5"], ["A4", "A5", "A6"], ["A3", "A4"], ["A5", "A6"], ["A4", "A5"]]
    blocks += [[label.replace("A", "B") for label in block] for block in blocks]
    blocks += [["A5", "A6", "B5", "B6"], ["A3", "A4", "B3", "B4"]]

    def wanted(n: int) -> list[str]:
        return blocks[(n * 7) % len(blocks)]

    holds_by_user = at_once(
        lambda n: services.hold_seats(user=users[n], showtime=showtime, labels=wanted(n)),
        list(range(50)),
    )
    winners = [b for b in holds_by_user.values() if isinstance(b, Booking)]
    losers = [e for e in holds_by_user.values() if not isinstance(e, Booking)]
    assert winners, "somebody must win"
    assert all(isinstance(error, SeatsUnavailable) for error in losers), losers
    held = [label for booking in winners for label in booking.seat_labels]
    assert len(held) == len(set(held)), "two holders of one seat"

    paid = at_once(_pay, winners)
    assert all(isinstance(b, Booking) and b.status == "confirmed" for b in paid.values()), paid
    assert Ticket.objects.count() == len(held)
    assert Ticket.objects.values("seat").distinct().count() == len(held)


def test_redis_flush_between_two_buyers_sells_the_seat_once(showtime, user, bob, redis_db):
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    redis_db.flushall()
    second = services.hold_seats(user=bob, showtime=showtime, labels=["A3"])
    results = at_once(_pay, [first, second])
    statuses = sorted(Booking.objects.values_list("status", flat=True))
    assert statuses == ["confirmed", "expired"]
    loser = first if Booking.objects.get(pk=first.pk).status == "expired" else second
    assert isinstance(results[loser], HoldLost), results[loser]
    assert _charged(loser) == 0
    assert Ticket.objects.count() == 1


def test_redis_flush_while_a_buyer_is_on_the_gateway_sells_the_seat_once(
    showtime, user, bob, redis_db
):
    """The first buyer is already paying when Redis forgets their hold; a second buyer holds and
    pays for the same seat; both payments land at once. One ticket, and the other money back."""
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    gateway = Client()
    pay_on_gateway(gateway, start_paying(first))
    redis_db.flushall()
    second = services.hold_seats(user=bob, showtime=showtime, labels=["A3"])
    pay_on_gateway(gateway, start_paying(second))

    results = at_once(
        lambda b: deliver_webhooks(Client(), session_id=b.payments.get().session_id)[0].json(),
        [first, second],
    )

    assert sorted(result["outcome"] for result in results.values()) == ["confirmed", "refunded"]
    statuses = sorted(Booking.objects.values_list("status", flat=True))
    assert statuses == ["confirmed", "expired"]
    loser = first if Booking.objects.get(pk=first.pk).status == "expired" else second
    assert Refund.objects.get().payment.booking == loser
    assert Refund.objects.get().reason == services.SEATS_TAKEN
    assert _charged(loser) == 0
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("how", ["flush", "ttl"])
def test_losing_the_hold_mid_payment_leaves_one_ticket_and_no_charge(
    showtime, user, bob, redis_db, settings, monkeypatch, how
):
    """A passes the hold check, then its hold vanishes and B buys the seat before A inserts."""
    settings.HOLD_TTL_SECONDS = 1 if how == "ttl" else 60
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    gateway = Client()
    pay_on_gateway(gateway, start_paying(first))
    real_check = settling.holds_its_seats
    outcome = {}

    def check_then_lose_the_hold(booking):
        ok = real_check(booking)
        if booking.pk == first.pk and "second" not in outcome:
            if how == "flush":
                redis_db.flushall()
            else:
                time.sleep(1.2)
            # B works on its own connection, outside A's open transaction.
            outcome["second"] = at_once(
                lambda _: _pay(services.hold_seats(user=bob, showtime=showtime, labels=["A4"])),
                [0],
            )[0]
        return ok

    # Armed once A's payment has gone through: its webhook passes the hold check, then loses.
    monkeypatch.setattr(settling, "holds_its_seats", check_then_lose_the_hold)
    [delivered] = deliver_webhooks(gateway, session_id=first.payments.get().session_id)
    assert delivered.json()["outcome"] == "refunded"
    assert isinstance(outcome["second"], Booking), outcome["second"]
    assert outcome["second"].status == "confirmed"
    assert Booking.objects.get(pk=first.pk).status == "expired"
    refund = Refund.objects.get(payment__booking=first)
    assert (refund.reason, refund.amount) == (services.SEATS_TAKEN, first.amount)
    assert _charged(first) == 0
    assert list(Ticket.objects.values_list("seat__label", flat=True)) == ["A4"]


@pytest.mark.parametrize("limit", ["showtimes", "seats"])
def test_an_accounts_limits_hold_against_its_own_parallel_holds(movie, auditorium, settings, limit):
    """One session posting 8 holds at once, on 8 showtimes: the account's limits hold. (Each
    request waited on the account's row, then read the bookings as they stood when the lock
    was taken: the ones committed meanwhile were not counted.)"""
    if limit == "showtimes":
        settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT, settings.MAX_SEATS_HELD_PER_ACCOUNT = 3, 100
    else:
        settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT, settings.MAX_SEATS_HELD_PER_ACCOUNT = 100, 10
    buyer = verified_user("greedy")
    showtimes = [
        schedule_showtime(
            movie=movie,
            auditorium=auditorium,
            starts_at=timezone.now() + timedelta(days=1, hours=3 * n),
            price_list=one_price_list(Decimal("10.00")),
        )
        for n in range(8)
    ]
    results = at_once(
        lambda showtime: services.hold_seats(
            user=buyer, showtime=showtime, labels=["A1", "A2", "A3"]
        ),
        showtimes,
    )
    held = [result for result in results.values() if isinstance(result, Booking)]
    refused = [result for result in results.values() if not isinstance(result, Booking)]
    assert all(isinstance(error, HoldLimitReached) for error in refused), refused
    open_bookings = Booking.objects.filter(user=buyer, status=Booking.Status.PENDING)
    seats = sum(len(booking.seat_labels) for booking in open_bookings)
    assert open_bookings.count() == len(held) == 3, (len(held), refused)
    assert seats <= settings.MAX_SEATS_HELD_PER_ACCOUNT
    # The refused ones hold nothing in Redis either.
    for showtime in showtimes:
        mine = holds.held_labels(showtime_id=showtime.pk, labels=["A1", "A2", "A3"])
        assert bool(mine) == any(booking.showtime_id == showtime.pk for booking in held)
