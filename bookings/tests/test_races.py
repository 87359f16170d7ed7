"""Many buyers at once, and Redis losing its memory mid-sale: never a seat sold twice.

These need a database that lets writers work side by side (PostgreSQL); SQLite serialises every
write transaction, so CI runs them in its PostgreSQL pass.
"""

import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from bookings import services
from bookings.errors import HoldLost, SeatsUnavailable
from bookings.models import Booking, Payment, Ticket
from conftest import verified_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="concurrent writers need PostgreSQL",
    ),
]


def _in_threads(target, items):
    """Run target(item) for every item at once; return {item: result or exception}."""
    results = {}
    start = threading.Barrier(len(items))

    def run(item):
        try:
            start.wait()
            results[item] = target(item)
        except Exception as error:
            results[item] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _charged(booking) -> int:
    kinds = Counter(Payment.objects.filter(booking=booking).values_list("kind", flat=True))
    return kinds["charge"] - kinds["refund"]


def test_racing_buyers_never_share_a_seat(showtime):
    users = [verified_user(f"buyer{n}") for n in range(50)]
    pool = ["A3", "A4", "A5", "A6", "B3", "B4", "B5", "B6"]

    def wanted(n: int) -> list[str]:
        return list(dict.fromkeys([pool[n % 8], pool[(n * 3 + 1) % 8], pool[(n * 7 + 2) % 8]]))

    holds_by_user = _in_threads(
        lambda n: services.hold_seats(user=users[n], showtime=showtime, labels=wanted(n)),
        list(range(50)),
    )
    winners = [b for b in holds_by_user.values() if isinstance(b, Booking)]
    losers = [e for e in holds_by_user.values() if not isinstance(e, Booking)]
    assert winners, "somebody must win"
    assert all(isinstance(error, SeatsUnavailable) for error in losers), losers
    held = [label for booking in winners for label in booking.seat_labels]
    assert len(held) == len(set(held)), "two holders of one seat"

    paid = _in_threads(lambda b: services.pay_booking(booking=b), winners)
    assert all(isinstance(b, Booking) and b.status == "confirmed" for b in paid.values()), paid
    assert Ticket.objects.count() == len(held)
    assert Ticket.objects.values("seat").distinct().count() == len(held)


def test_redis_flush_between_two_buyers_sells_the_seat_once(showtime, user, bob, redis_db):
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    redis_db.flushall()
    second = services.hold_seats(user=bob, showtime=showtime, labels=["A3"])
    results = _in_threads(lambda b: services.pay_booking(booking=b), [first, second])
    statuses = sorted(Booking.objects.values_list("status", flat=True))
    assert statuses == ["confirmed", "expired"]
    loser = first if Booking.objects.get(pk=first.pk).status == "expired" else second
    assert isinstance(results[loser], HoldLost | SeatsUnavailable)
    assert _charged(loser) == 0
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("how", ["flush", "ttl"])
def test_losing_the_hold_mid_payment_leaves_one_ticket_and_no_charge(
    showtime, user, bob, redis_db, settings, monkeypatch, how
):
    """A passes the hold check, then its hold vanishes and B buys the seat before A inserts."""
    settings.HOLD_TTL_SECONDS = 1 if how == "ttl" else 60
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    real_check = services._holds_its_seats
    outcome = {}

    def check_then_lose_the_hold(booking):
        ok = real_check(booking)
        if booking.pk == first.pk and "second" not in outcome:
            if how == "flush":
                redis_db.flushall()
            else:
                time.sleep(1.2)
            # B works on its own connection, outside A's open transaction.
            outcome["second"] = _in_threads(
                lambda _: services.pay_booking(
                    booking=services.hold_seats(user=bob, showtime=showtime, labels=["A4"])
                ),
                [0],
            )[0]
        return ok

    monkeypatch.setattr(services, "_holds_its_seats", check_then_lose_the_hold)
    with pytest.raises(SeatsUnavailable) as error:
        services.pay_booking(booking=first)
    assert error.value.conflicts == ["A4"]
    assert "Nothing was charged" in error.value.message
    assert isinstance(outcome["second"], Booking), outcome["second"]
    assert isinstance(outcome["second"], Booking), outcome["second"]
    assert outcome["second"].status == "confirmed"
    assert Booking.objects.get(pk=first.pk).status == "expired"
    assert _charged(first) == 0
    assert list(Ticket.objects.values_list("seat__label", flat=True)) == ["A4"]
