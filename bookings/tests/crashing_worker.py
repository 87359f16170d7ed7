"""A web process of its own for test_payment_crashes.py, so that it can really be killed.

`python bookings/tests/crashing_worker.py <step>` against DATABASE_URL and REDIS_URL, with the
provider in PAYMENT_GATEWAY: the mock (its webhooks kept in its outbox), or Stripe against the
localstripe at STRIPE_API_BASE (its webhooks caught by the test and handed over in WEBHOOK_FILE):
- `setup`: a showtime, and a buyer holding A3 and A4;
- `start`: start paying, and die by SIGKILL once the attempt is committed and before the
  gateway is asked for its page;
- `open`: start paying, and die once the gateway has opened the page and before its id is stored;
- `pay`: start paying, and pay on the gateway's page (its webhook owed);
- `webhook`: deliver the owed webhooks, and die by SIGKILL once the tickets are written and
  before the transaction commits (after the gateway charged, before we confirmed);
- `redeliver`: deliver them again (the gateway retrying) and print our answers;
- `confirm`: deliver the owed webhooks (the booking is paid and confirmed);
- `refund`: the customer cancels the paid booking, and the process dies by SIGKILL once the
  refund is recorded and before the gateway is asked to pay it back;
- `age`: the attempts and refunds still open were made an hour ago (the delays have passed);
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

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.models import AuditEvent  # noqa: E402
from bookings import services  # noqa: E402
from bookings.models import Booking, Payment, Refund, Ticket  # noqa: E402
from bookings.services import paying, refunds, settling  # noqa: E402
from cinema.models import Auditorium, Movie  # noqa: E402
from cinema.services import one_price_list, save_auditorium, schedule_showtime  # noqa: E402
from conftest import SMALL_LAYOUT, deliver_webhooks, pay_on_gateway, verified_user  # noqa: E402
from payments.gateway import get_gateway  # noqa: E402
from tests.localstripe import LocalStripe  # noqa: E402

STRIPE = settings.PAYMENT_GATEWAY == settings.STRIPE_GATEWAY


def setup() -> None:
    showtime = schedule_showtime(
        movie=Movie.objects.create(title="Crash", slug="crash", runtime_minutes=90),
        auditorium=save_auditorium(auditorium=Auditorium(name="Hall", layout=SMALL_LAYOUT)),
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    services.hold_seats(user=verified_user("buyer"), showtime=showtime, labels=["A3", "A4"])


def _start_paying() -> str:
    booking = Booking.objects.get()
    return services.start_payment(
        booking=booking,
        return_url=f"http://testserver/bookings/{booking.ref}/paid/",
        cancel_url=f"http://testserver/bookings/{booking.ref}/",
    )


def start() -> None:
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    paying.get_gateway = die
    _start_paying()


def open_page() -> None:
    gateway = get_gateway()
    create_session = gateway.create_session

    def create_then_die(**kwargs):
        create_session(**kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    gateway.create_session = create_then_die
    paying.get_gateway = lambda: gateway
    _start_paying()


def pay() -> None:
    url = _start_paying()
    if STRIPE:
        _localstripe().pay(Payment.objects.get().session_id)
    else:
        pay_on_gateway(Client(), url)


def _localstripe() -> LocalStripe:
    return LocalStripe(url=settings.STRIPE_API_BASE, process=None)


def _deliver() -> list:
    if not STRIPE:
        return deliver_webhooks(Client())
    deliveries = json.loads(Path(os.environ["WEBHOOK_FILE"]).read_text())
    return [
        Client().post(
            "/payments/webhook/",
            data=delivery["body"].encode(),
            content_type="application/json",
            headers={"Stripe-Signature": delivery["signature"]},
        )
        for delivery in deliveries
    ]


def webhook() -> None:
    confirm = settling._confirm

    def confirm_then_die(**kwargs):
        confirm(**kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    settling._confirm = confirm_then_die
    _deliver()


def confirm() -> None:
    _deliver()


def refund() -> None:
    def die(**kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    refunds.send_refund = die
    services.cancel_booking(booking=Booking.objects.get())


def age() -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Refund.objects.filter(status=Refund.Status.REQUESTED).update(
        created_at=an_hour_ago, updated_at=an_hour_ago
    )
    Payment.objects.filter(status__in=[Payment.Status.CREATED, Payment.Status.OPEN]).update(
        created_at=an_hour_ago
    )


def redeliver() -> None:
    if not STRIPE:
        from payments.mock.models import MockWebhook

        MockWebhook.objects.update(delivered_at=None)
    print(json.dumps([r.json()["outcome"] for r in _deliver()]))


def _at_gateway() -> dict:
    """How many charges the gateway made, and refunds it sent."""
    if STRIPE:
        stripe = _localstripe()
        intents = stripe.call("GET", "/v1/payment_intents", limit=100)["data"]
        return {
            "opened": len(intents),
            "charged": sum(intent["status"] == "succeeded" for intent in intents),
            "refunded_at_gateway": len(stripe.call("GET", "/v1/refunds", limit=100)["data"]),
        }
    from payments.mock.models import MockRefund, MockSession

    return {
        "opened": MockSession.objects.count(),
        "charged": MockSession.objects.filter(status="paid").count(),
        "refunded_at_gateway": MockRefund.objects.count(),
    }


def state() -> None:
    booking = Booking.objects.get()
    print(
        json.dumps(
            {
                "booking": booking.status,
                "tickets": Ticket.objects.count(),
                "payments": list(Payment.objects.values_list("status", flat=True)),
                "refunds": Refund.objects.count(),
                **_at_gateway(),
                "confirmed_events": AuditEvent.objects.filter(
                    booking_ref=booking.ref, kind=AuditEvent.Kind.BOOKING_CONFIRMED
                ).count(),
            }
        )
    )


if __name__ == "__main__":
    steps = {"setup": setup, "start": start, "open": open_page, "pay": pay, "webhook": webhook}
    steps |= {"confirm": confirm, "refund": refund, "age": age, "redeliver": redeliver}
    {**steps, "state": state}[sys.argv[1]]()
