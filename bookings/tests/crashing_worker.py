"""A web process of its own for test_payment_crashes.py, so that it can really be killed.

`python bookings/tests/crashing_worker.py <step>` against DATABASE_URL and REDIS_URL:
- `setup`: a showtime, a buyer holding A3 and A4, the gateway's page paid (its webhook owed);
- `webhook`: deliver the owed webhooks, and die by SIGKILL once the tickets are written and
  before the transaction commits (after the gateway charged, before we confirmed);
- `redeliver`: deliver them again (the gateway retrying) and print our answers;
- `confirm`: deliver the owed webhooks (the booking is paid and confirmed);
- `refund`: the customer cancels the paid booking, and the process dies by SIGKILL once the
  refund is recorded and before the gateway is asked to pay it back;
- `age`: the refunds still owed were recorded two minutes ago (a sweeper's delay has passed);
- `state`: print what the database and the gateway hold, as JSON.
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

from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.models import AuditEvent  # noqa: E402
from bookings import services  # noqa: E402
from bookings.models import Booking, Payment, Refund, Ticket  # noqa: E402
from bookings.services import refunds, settling  # noqa: E402
from cinema.models import Auditorium, Movie  # noqa: E402
from cinema.services import one_price_list, save_auditorium, schedule_showtime  # noqa: E402
from conftest import (  # noqa: E402
    SMALL_LAYOUT,
    deliver_webhooks,
    pay_on_gateway,
    start_paying,
    verified_user,
)
from payments.mock.models import MockRefund, MockSession  # noqa: E402


def setup() -> None:
    showtime = schedule_showtime(
        movie=Movie.objects.create(title="Crash", slug="crash", runtime_minutes=90),
        auditorium=save_auditorium(auditorium=Auditorium(name="Hall", layout=SMALL_LAYOUT)),
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    booking = services.hold_seats(
        user=verified_user("buyer"), showtime=showtime, labels=["A3", "A4"]
    )
    pay_on_gateway(Client(), start_paying(booking))


def webhook() -> None:
    confirm = settling._confirm

    def confirm_then_die(**kwargs):
        confirm(**kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    settling._confirm = confirm_then_die
    deliver_webhooks(Client())


def confirm() -> None:
    deliver_webhooks(Client())


def refund() -> None:
    def die(**kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    refunds.send_refund = die
    services.cancel_booking(booking=Booking.objects.get())


def age() -> None:
    Refund.objects.filter(status=Refund.Status.REQUESTED).update(
        created_at=timezone.now() - timedelta(minutes=2),
        updated_at=timezone.now() - timedelta(minutes=2),
    )


def redeliver() -> None:
    from payments.mock.models import MockWebhook

    MockWebhook.objects.update(delivered_at=None)
    print(json.dumps([r.json()["outcome"] for r in deliver_webhooks(Client())]))


def state() -> None:
    booking = Booking.objects.get()
    print(
        json.dumps(
            {
                "booking": booking.status,
                "tickets": Ticket.objects.count(),
                "payments": list(Payment.objects.values_list("status", flat=True)),
                "refunds": Refund.objects.count(),
                "charged": MockSession.objects.filter(status="paid").count(),
                "refunded_at_gateway": MockRefund.objects.count(),
                "confirmed_events": AuditEvent.objects.filter(
                    booking_ref=booking.ref, kind=AuditEvent.Kind.BOOKING_CONFIRMED
                ).count(),
            }
        )
    )


if __name__ == "__main__":
    steps = {"setup": setup, "webhook": webhook, "confirm": confirm, "refund": refund, "age": age}
    {**steps, "redeliver": redeliver, "state": state}[sys.argv[1]]()
