"""A web process of its own for test_exchange_crashes.py, so that it can really be killed.

`python bookings/tests/exchanging_worker.py <step> [same|cheaper|dearer]` against DATABASE_URL and
REDIS_URL, with the mock gateway (its webhooks kept in its outbox). The exchange moves the paid
booking to B3 and B4 of the showtime at the same price, a cheaper one (8.00 a seat) or a dearer
one (12.50):
- `setup`: three showtimes of one film (10.00, 8.00, 12.50), and a buyer's paid booking of A3
  and A4 of the first;
- `hold`: die once the new seats are held in Redis, before the new booking commits;
- `held`: start the exchange (the new booking holds its seats) and stop there;
- `confirm`: confirm the exchange, and die once the old tickets are voided and the new ones
  written, before the transaction commits;
- `refund`: confirm the cheaper exchange, and die once it committed, before the gateway is asked
  for the difference back;
- `start`: start paying the dearer exchange's difference, and die once the attempt is committed,
  before the gateway is asked for its page;
- `webhook`: pay the difference on the gateway's page, then deliver its webhook and die once the
  exchange is written, before the transaction commits (charged, not yet exchanged);
- `age`: what is still open was made an hour ago (every delay has passed);
- `state`: print what the database, Redis and the gateway hold, as JSON.
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["MOCK_GATEWAY_WEBHOOKS"] = "manual"
os.environ["ALLOWED_HOSTS"] = "testserver"

import django

django.setup()

from datetime import timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings import services  # noqa: E402
from bookings.models import Booking, Payment, Refund, Ticket  # noqa: E402
from bookings.services import exchanging, holding, paying, settling  # noqa: E402
from cinema.models import Auditorium, Movie, Showtime  # noqa: E402
from cinema.plans import get_plan  # noqa: E402
from cinema.services import one_price_list, save_auditorium, schedule_showtime  # noqa: E402
from conftest import SMALL_LAYOUT, deliver_webhooks, pay, pay_on_gateway, verified_user  # noqa: E402
from payments.mock.models import MockRefund, MockSession  # noqa: E402
from seats import holds  # noqa: E402

PRICES = {"same": "10.00", "cheaper": "8.00", "dearer": "12.50"}
NEW_SEATS = ["B3", "B4"]


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def then_die(function):
    def run_then_die(*args, **kwargs):
        function(*args, **kwargs)
        die()

    return run_then_die


def setup() -> None:
    movie = Movie.objects.create(title="Crash", slug="crash", runtime_minutes=90)
    hall = save_auditorium(auditorium=Auditorium(name="Hall", layout=SMALL_LAYOUT))
    for days, price in enumerate(PRICES.values(), start=1):
        schedule_showtime(
            movie=movie,
            auditorium=hall,
            starts_at=timezone.now() + timedelta(days=days),
            price_list=one_price_list(Decimal(price)),
        )
    booking = services.hold_seats(
        user=verified_user("buyer"), showtime=_showtime("same"), labels=["A3", "A4"]
    )
    pay(booking)


def _showtime(target: str) -> Showtime:
    return Showtime.objects.order_by("starts_at")[list(PRICES).index(target)]


def _paid() -> Booking:
    return Booking.objects.get(exchange_of=None, status=Booking.Status.CONFIRMED)


def _start(target: str) -> Booking:
    paid = _paid()
    return services.start_exchange(
        booking=paid, user=paid.user, showtime=_showtime(target), labels=NEW_SEATS
    )


def _exchange() -> Booking:
    return Booking.objects.get(exchange_of__isnull=False, status=Booking.Status.PENDING)


def hold(target: str) -> None:
    holding.seat_changes.seats_held = die
    _start(target)


def held(target: str) -> None:
    _start(target)


def confirm(target: str) -> None:
    exchanging.selling.sell_booking = then_die(exchanging.selling.sell_booking)
    services.confirm_exchange(booking=_start(target))


def refund(target: str) -> None:
    exchanging.send_refund = die
    services.confirm_exchange(booking=_start(target))


def _start_paying() -> str:
    booking = _exchange()
    return services.start_payment(
        booking=booking,
        return_url=f"http://testserver/bookings/{booking.ref}/paid/",
        cancel_url=f"http://testserver/bookings/{booking.ref}/",
    )


def start(target: str) -> None:
    _start(target)
    paying.get_gateway = die
    _start_paying()


def webhook(target: str) -> None:
    _start(target)
    pay_on_gateway(Client(), _start_paying())
    settling.selling.sell_booking = then_die(settling.selling.sell_booking)
    deliver_webhooks(Client())


def age(target: str) -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Refund.objects.filter(status=Refund.Status.REQUESTED).update(
        created_at=an_hour_ago, updated_at=an_hour_ago
    )
    Payment.objects.filter(status__in=[Payment.Status.CREATED, Payment.Status.OPEN]).update(
        created_at=an_hour_ago
    )
    Booking.objects.filter(status=Booking.Status.PENDING).update(expires_at=an_hour_ago)


def _total(queryset, field: str = "amount") -> str:
    return f"{queryset.aggregate(total=Sum(field))['total'] or 0:.2f}"


def state(target: str) -> None:
    showtimes = list(Showtime.objects.order_by("starts_at").select_related("auditorium"))
    labels = list(get_plan(showtimes[0].auditorium).seats_by_label)
    print(
        json.dumps(
            {
                "bookings": {
                    "paid" if booking.exchange_of_id is None else "exchange": booking.status
                    for booking in Booking.objects.all()
                },
                "tickets": {
                    name: sorted(
                        Ticket.objects.filter(showtime=showtime).values_list(
                            "seat__label", flat=True
                        )
                    )
                    for name, showtime in zip(PRICES, showtimes, strict=True)
                },
                "in_redis": {
                    name: sorted(holds.held_labels(showtime_id=showtime.pk, labels=labels))
                    for name, showtime in zip(PRICES, showtimes, strict=True)
                },
                "payments": sorted(Payment.objects.values_list("status", flat=True)),
                "refunds_owed": Refund.objects.filter(status=Refund.Status.REQUESTED).count(),
                "charged": _total(MockSession.objects.filter(status="paid")),
                "refunded": _total(MockRefund.objects),
                "tickets_worth": _total(Ticket.objects, "price"),
            }
        )
    )


if __name__ == "__main__":
    steps = {"setup": setup, "hold": hold, "held": held, "confirm": confirm, "refund": refund}
    steps |= {"start": start, "webhook": webhook, "age": age, "state": state}
    step = steps[sys.argv[1]]
    if step is setup:
        setup()
    else:
        step(sys.argv[2] if len(sys.argv) > 2 else "same")
