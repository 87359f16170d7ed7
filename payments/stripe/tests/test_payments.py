"""Paying with the Stripe provider, end to end against a real localstripe process: the checkout
page, cards that pay, decline or ask for 3-D Secure, Stripe's signed webhooks (late, twice,
forged), refunds (full and per ticket) and reconciliation.

The buyer's part (what Stripe.js does on our page) is played by `LocalStripe.pay`; each webhook
localstripe sends lands in the inbox and is posted to our endpoint when the test says so.
"""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from bookings import services
from bookings.models import Booking, Payment, Refund, Ticket, WebhookEvent
from bookings.reconcile import reconcile_payments
from conftest import start_paying
from payments import signing
from payments.gateway import SessionStatus, get_gateway
from payments.stripe.gateway import StripeGateway, intent_of
from seats import holds
from tests.localstripe import DECLINED_CARD, THREE_D_SECURE_CARD, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

Kind = AuditEvent.Kind
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"


def _post(delivery, *, body: bytes | None = None, headers: dict | None = None):
    return Client().post(
        "/payments/webhook/",
        data=body if body is not None else delivery.body,
        content_type="application/json",
        headers=headers if headers is not None else {"Stripe-Signature": _signature(delivery)},
    )


def _signature(delivery) -> str:
    return next(v for k, v in delivery.headers.items() if k.lower() == "stripe-signature")


def _intent_id(booking) -> str:
    """The PaymentIntent of the booking's newest payment attempt."""
    return booking.payments.order_by("-created_at", "-pk").first().session_id


def _settle(inbox, booking, event_type: str = SUCCEEDED) -> str:
    """Post the intent's next webhook of `event_type` to our endpoint; what we answered."""
    delivery = inbox.wait(event_type, intent_id=_intent_id(booking))
    response = _post(delivery)
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def _lose_hold(booking) -> None:
    holds.release(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )


def test_paying_opens_our_checkout_page_with_a_payment_intent(stripe_on, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    url = start_paying(booking)
    payment = booking.payments.get()
    intent = stripe_on.call("GET", f"/v1/payment_intents/{payment.session_id}")
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        2000,
        "gbp",
        "requires_payment_method",
    )
    assert intent["metadata"]["booking"] == booking.ref
    assert intent["metadata"]["payment"] == str(payment.pk)
    assert intent["metadata"]["client_reference"] == payment.idempotency_key
    assert intent_of(url.split("/")[-2]) == payment.session_id

    page = Client().get(url)
    assert page.status_code == 200
    assert intent["client_secret"] in page.text
    assert f"{stripe_on.url}/js.stripe.com/v3/" in page.text
    assert "£20.00" in page.text
    forged = url.replace(payment.session_id, payment.session_id[:-1] + "x")
    assert Client().get(forged).status_code == 404


def test_a_card_that_pays_confirms_the_booking_by_the_webhook(stripe_on, inbox, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    url = start_paying(booking)
    paid = stripe_on.pay(_intent_id(booking))
    assert paid["status"] == "succeeded"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING, "only the webhook confirms"

    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.tickets.count() == 2
    charge = paid["latest_charge"]["id"]
    assert booking.payment_ref == charge
    assert booking.payments.get().charge == charge
    # Back on the checkout page, the buyer is sent on to the booking's return page.
    again = Client().get(url)
    assert again.status_code == 303
    assert again["Location"].endswith(f"/bookings/{booking.ref}/paid/")


def test_a_declined_card_leaves_the_booking_pending_and_another_attempt_pays(
    stripe_on, inbox, showtime, user
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    declined = stripe_on.pay(_intent_id(booking), card=DECLINED_CARD)
    assert declined["status"] == "requires_payment_method"
    assert _settle(inbox, booking, FAILED) == "failed attempt"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    failed = AuditEvent.objects.get(booking_ref=booking.ref, kind=Kind.PAYMENT_FAILED)
    assert failed.detail["message"] == "Your card was declined."
    assert not Ticket.objects.exists()
    assert get_gateway().retrieve_session(session_id=_intent_id(booking)).status == "open"

    # Pay again (localstripe will not confirm an intent again after a declined charge; Stripe
    # would, on the same page): a new attempt, a new intent.
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_card_asking_for_3d_secure_pays_only_once_the_buyer_authenticates(
    stripe_on, inbox, showtime, user
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    asked = stripe_on.pay(_intent_id(booking), card=THREE_D_SECURE_CARD)
    assert asked["status"] == "requires_action"
    session = get_gateway().retrieve_session(session_id=_intent_id(booking))
    assert session.status == SessionStatus.OPEN
    assert not session.charge

    stripe_on.authenticate(asked, success=True)
    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_failed_3d_secure_charges_nothing_and_the_buyer_may_try_again(
    stripe_on, inbox, showtime, user
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    asked = stripe_on.pay(_intent_id(booking), card=THREE_D_SECURE_CARD)
    failed = stripe_on.authenticate(asked, success=False)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert get_gateway().retrieve_session(session_id=_intent_id(booking)).status == "open"
    stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "confirmed"


def test_a_webhook_delivered_twice_confirms_once(stripe_on, inbox, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    delivery = inbox.wait(SUCCEEDED)
    first, second = _post(delivery), _post(delivery)
    assert [first.json()["outcome"], second.json()["outcome"]] == ["confirmed", "duplicate"]
    assert Ticket.objects.count() == 2
    assert AuditEvent.objects.filter(kind=Kind.BOOKING_CONFIRMED).count() == 1
    assert WebhookEvent.objects.count() == 1


def test_a_webhook_with_a_bad_signature_is_refused_audited_and_changes_nothing(
    stripe_on, inbox, showtime, user
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    delivery = inbox.wait(SUCCEEDED)
    tampered = json.loads(delivery.body)
    tampered["data"]["object"]["amount"] = 1
    old = int(time.time()) - 3600
    answers = [
        _post(delivery, headers={}),
        _post(
            delivery,
            headers={"Stripe-Signature": signing.sign(payload=delivery.body, secret="whsec_x")},
        ),
        _post(
            delivery,
            headers={
                "Stripe-Signature": signing.sign(
                    payload=delivery.body, secret=WEBHOOK_SECRET, timestamp=old
                )
            },
        ),
        _post(delivery, body=json.dumps(tampered).encode()),
    ]
    assert [answer.status_code for answer in answers] == [400] * 4
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert not WebhookEvent.objects.exists()
    assert AuditEvent.objects.filter(kind=Kind.WEBHOOK_REJECTED).count() == 4
    assert _post(delivery).json()["outcome"] == "confirmed", "the real one still counts"


def test_a_late_payment_confirms_when_the_seats_are_still_free(stripe_on, inbox, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    _lose_hold(booking)
    services.expire_booking(booking=booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    confirmed = AuditEvent.objects.get(booking_ref=booking.ref, kind=Kind.BOOKING_CONFIRMED)
    assert confirmed.detail["late"] is True


def test_a_late_payment_for_seats_sold_meanwhile_is_refunded_in_full_at_stripe(
    stripe_on, inbox, showtime, user, bob
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    _lose_hold(booking)
    services.expire_booking(booking=booking)
    other = services.hold_seats(user=bob, showtime=showtime, labels=["A4", "A5"])
    start_paying(other)
    stripe_on.pay(_intent_id(other))
    assert _settle(inbox, other) == "confirmed"

    late = stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "refunded"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert sorted(Ticket.objects.values_list("seat__label", flat=True)) == ["A4", "A5"]
    refund = Refund.objects.get(payment__booking=booking)
    assert refund.status == Refund.Status.SUCCEEDED
    [at_stripe] = stripe_on.call("GET", "/v1/refunds", payment_intent=late["id"])["data"]
    assert at_stripe["amount"] == 2000
    assert at_stripe["id"] == refund.reference
    assert at_stripe["metadata"]["idempotency_key"] == str(refund.idempotency_key)


def test_refunds_per_ticket_then_in_full_go_back_to_the_charge(stripe_on, inbox, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    paid = stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()

    part = services.refund_tickets(booking=booking, actor=None, reason="staff", labels=["A3"])
    assert (part.status, part.amount) == (Refund.Status.SUCCEEDED, Decimal("10.00"))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    rest = services.refund_tickets(booking=booking, actor=None, reason="staff")
    assert rest.status == Refund.Status.SUCCEEDED
    charge = stripe_on.call("GET", f"/v1/charges/{paid['latest_charge']['id']}")
    assert charge["amount_refunded"] == 2000
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    session = get_gateway().retrieve_session(session_id=_intent_id(booking))
    assert session.refunded == Decimal("20.00")


def test_a_refund_sent_again_is_found_by_its_key_not_made_twice(stripe_on, inbox, showtime, user):
    """Stripe forgets idempotency keys after 24 hours (localstripe never keeps them): a refund
    the sweeper sends again later is found by the key in its metadata."""
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    assert _settle(inbox, booking) == "confirmed"
    booking.refresh_from_db()
    (refund,) = services.refund_tickets(
        booking=booking, actor=None, reason="staff", labels=["A3"]
    ).refunds
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.REQUESTED)
    again = services.send_refund(refund=refund)
    assert (again.status, again.reference) == (Refund.Status.SUCCEEDED, refund.reference)
    listed = stripe_on.call("GET", "/v1/refunds", payment_intent=_intent_id(booking))["data"]
    assert len(listed) == 1


def test_reconciliation_settles_a_payment_whose_webhook_was_lost(stripe_on, inbox, showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    inbox.wait(SUCCEEDED)  # and lost
    report = reconcile_payments(since=timezone.now() - timedelta(days=1))
    settled = f"booking {booking.ref}: paid at the gateway, not settled here: confirmed"
    assert report.fixed == [settled]
    assert report.attention == []
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    again = reconcile_payments(since=timezone.now() - timedelta(days=1))
    assert (again.fixed, again.attention) == ([], [])


def test_reconciliation_finds_a_charge_we_never_recorded(stripe_on, inbox):
    stranger = stripe_on.call("POST", "/v1/payment_intents", amount=1500, currency="gbp")
    stripe_on.pay(stranger["id"])
    report = reconcile_payments(since=timezone.now() - timedelta(days=1))
    [problem] = report.attention
    assert problem.startswith(f"{stranger['id']}: the gateway has a paid session for 15.00 GBP")
    assert "money was taken: refund it from the gateway" in problem


def test_an_intent_past_its_session_is_cancelled_and_cannot_be_paid(
    stripe_on, inbox, showtime, user
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    url = start_paying(booking)
    intent_id = _intent_id(booking)
    stripe_on.call(
        "POST",
        f"/v1/payment_intents/{intent_id}",
        metadata={"expires_at": str(int(time.time()) - 1)},
    )
    assert Client().get(url).status_code == 410
    assert stripe_on.call("GET", f"/v1/payment_intents/{intent_id}")["status"] == "canceled"
    assert services.sync_payment(payment=booking.payments.get()) == "closed"
    assert booking.payments.get().status == Payment.Status.FAILED


def test_the_gateway_refuses_to_be_called_inside_a_transaction(stripe_on):
    from django.db import transaction

    with transaction.atomic(), pytest.raises(RuntimeError, match="inside a database transaction"):
        StripeGateway().retrieve_session(session_id="pi_anything")


def test_localstripe_posts_its_signed_webhook_to_our_endpoint_which_confirms(
    stripe_on, live_server, showtime, user
):
    """No test in between: localstripe delivers to /payments/webhook/ on a live server."""
    stripe_on.send_webhooks_to(f"{live_server.url}/payments/webhook/")
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    start_paying(booking)
    stripe_on.pay(_intent_id(booking))
    deadline = time.monotonic() + 15
    while booking.status == Booking.Status.PENDING and time.monotonic() < deadline:
        time.sleep(0.2)
        booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.tickets.count() == 2
    assert WebhookEvent.objects.get().type == "payment.succeeded"
