"""Paying through a gateway: the hosted page, signed webhooks, late payments, refunds.

The gateway is the mock provider (payments/mock/), with its own ledger; its webhooks are kept
until a test delivers them (`deliver_webhooks`), so each test decides when, how often and in
which order they arrive.
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
from bookings.errors import BookingClosed, InvalidRequest, PaymentFailed
from bookings.models import Booking, Payment, Refund, Ticket, WebhookEvent
from conftest import (
    DECLINED_CARD,
    deliver_webhooks,
    pay,
    pay_on_gateway,
    start_paying,
)
from payments import signing
from payments.gateway import GatewayError
from payments.mock.gateway import MockGateway
from payments.mock.models import MockRefund, MockSession
from payments.mock.webhooks import pending
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)

Kind = AuditEvent.Kind


def _kinds(booking) -> list[str]:
    return list(
        AuditEvent.objects.filter(booking_ref=booking.ref)
        .order_by("occurred_at", "id")
        .values_list("kind", flat=True)
    )


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _session(booking) -> MockSession:
    return MockSession.objects.get(id=booking.payments.get().session_id)


def _lose_hold(booking) -> None:
    holds.release(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )


def test_paying_sends_the_buyer_to_the_gateway_and_charges_nothing_yet(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    response = _signed_in(user).post(f"/bookings/{booking.ref}/pay/")
    assert response.status_code == 303
    assert response["Location"].startswith("/mock-gateway/checkout/cs_test_")
    payment = booking.payments.get()
    assert payment.status == Payment.Status.OPEN
    assert payment.amount == booking.amount == Decimal("20.00")
    assert payment.session_id and payment.idempotency_key
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert not booking.tickets.exists()
    assert Kind.PAYMENT_STARTED in _kinds(booking)


def test_the_gateway_page_takes_the_card_and_the_webhook_confirms(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    url = start_paying(booking)
    buyer = _signed_in(user)
    response = pay_on_gateway(buyer, url)
    assert response.status_code == 303
    assert response["Location"].endswith(f"/bookings/{booking.ref}/paid/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING, "the webhook, not the redirect, confirms"
    [delivered] = deliver_webhooks(buyer)
    assert delivered.status_code == 200
    assert delivered.json()["outcome"] == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payment_ref == _session(booking).charge
    assert sorted(booking.tickets.values_list("seat__label", flat=True)) == ["A3", "A4"]
    assert set(booking.tickets.values_list("price", flat=True)) == {Decimal("10.00")}
    assert booking.payments.get().status == Payment.Status.SUCCEEDED


def test_a_webhook_delivered_twice_confirms_once_and_charges_once(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    pay_on_gateway(buyer, start_paying(booking))
    [delivery] = pending()
    responses = [
        buyer.post(
            "/payments/webhook/",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
        for _ in range(2)
    ]
    assert [r.json()["outcome"] for r in responses] == ["confirmed", "duplicate"]
    assert _kinds(booking).count(Kind.BOOKING_CONFIRMED) == 1
    assert Ticket.objects.filter(booking=booking).count() == 1
    assert MockSession.objects.filter(status="paid").count() == 1
    assert WebhookEvent.objects.count() == 1


def test_the_return_page_works_when_the_webhook_came_first(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = _signed_in(user)
    pay_on_gateway(buyer, start_paying(booking))
    deliver_webhooks(buyer)
    page = buyer.get(f"/bookings/{booking.ref}/paid/")
    assert page.status_code == 200
    assert "Your ticket" in page.text
    assert "hx-trigger" not in page.text


def test_the_return_page_waits_for_the_webhook_then_shows_the_ticket(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = _signed_in(user)
    pay_on_gateway(buyer, start_paying(booking))
    page = buyer.get(f"/bookings/{booking.ref}/paid/")
    assert "Payment received, confirming your seats" in page.text
    assert 'hx-trigger="every 1s"' in page.text
    poll = buyer.get(f"/bookings/{booking.ref}/paid/", headers={"HX-Request": "true"})
    assert "confirming your seats" in poll.text
    deliver_webhooks(buyer)
    poll = buyer.get(f"/bookings/{booking.ref}/paid/", headers={"HX-Request": "true"})
    assert "Your ticket" in poll.text
    assert "hx-trigger" not in poll.text


def test_the_return_page_works_when_the_webhook_lands_while_it_reads(showtime, user, monkeypatch):
    """The webhook may settle the payment between the page's reads (the mock provider sends it
    the moment the card is taken): the buyer still gets the return page, never the checkout."""
    from bookings import views

    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = _signed_in(user)
    pay_on_gateway(buyer, start_paying(booking))
    read_booking = views._my_booking

    def webhook_lands_after_the_booking_is_read(request, ref):
        found = read_booking(request, ref)
        deliver_webhooks(Client())
        return found

    monkeypatch.setattr(views, "_my_booking", webhook_lands_after_the_booking_is_read)
    page = buyer.get(f"/bookings/{booking.ref}/paid/")
    assert page.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_coming_back_without_paying_shows_the_checkout_again(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = _signed_in(user)
    start_paying(booking)
    response = buyer.get(f"/bookings/{booking.ref}/paid/")
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{booking.ref}/"


def test_the_return_page_of_another_users_booking_is_not_found(showtime, user, bob):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    pay(booking)
    assert _signed_in(bob).get(f"/bookings/{booking.ref}/paid/").status_code == 404
    assert _signed_in(bob).post(f"/bookings/{booking.ref}/pay/").status_code == 404


@pytest.mark.parametrize(
    ("card", "exp", "message"),
    [
        ("x" * 5000, "12/39", "Your card number is"),
        ("4242 4242 4242 4241", "12/39", "Your card number is invalid."),
        ("4242 4242 4242 4242", "01/20", "in the past"),
    ],
)
def test_a_junk_or_expired_card_is_refused_and_nothing_moves(showtime, user, card, exp, message):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    response = buyer.post(start_paying(booking), {"card": card, "exp": exp, "cvc": "123"})
    assert response.status_code == 400
    assert message in response.text
    assert pending() == []
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert booking.payments.get().status == Payment.Status.OPEN


def test_events_out_of_order_leave_the_booking_confirmed(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    url = start_paying(booking)
    pay_on_gateway(buyer, url, card=DECLINED_CARD)
    pay_on_gateway(buyer, url)
    failed, succeeded = pending()
    for delivery in (succeeded, failed):
        buyer.post(
            "/payments/webhook/",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payments.get().status == Payment.Status.SUCCEEDED


def test_a_paid_booking_whose_hold_vanished_is_settled_not_expired_while_its_webhook_is_lost(
    showtime, user
):
    """The sweeper asks the gateway before giving away the seats of a booking being paid for,
    whether its hold ran out on time or vanished before its time (a pass of the sweeper that
    began before the hold's end, a Redis restart)."""
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    pay_on_gateway(Client(), start_paying(booking))  # its webhook is not delivered
    _lose_hold(booking)

    services.expire_booking(booking=booking)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.tickets.count() == 2
    assert Kind.HOLD_EXPIRED not in _kinds(booking)
    assert not Refund.objects.exists()


def test_success_after_the_hold_expired_confirms_when_the_seats_are_free(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    buyer = Client()
    url = start_paying(booking)
    _lose_hold(booking)
    services.expire_booking(booking=booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    pay_on_gateway(buyer, url)
    [delivered] = deliver_webhooks(buyer)
    assert delivered.json()["outcome"] == "confirmed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.tickets.count() == 2
    confirmed = AuditEvent.objects.get(booking_ref=booking.ref, kind=Kind.BOOKING_CONFIRMED)
    assert confirmed.detail["late"] is True
    assert not Refund.objects.exists()


def test_success_after_a_seat_was_sold_meanwhile_is_refunded_in_full(showtime, user, bob):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    buyer = Client()
    url = start_paying(booking)
    _lose_hold(booking)
    services.expire_booking(booking=booking)
    other = pay(services.hold_seats(user=bob, showtime=showtime, labels=["A4", "A5"]))
    assert other.status == Booking.Status.CONFIRMED
    pay_on_gateway(buyer, url)
    [delivered] = deliver_webhooks(buyer, session_id=booking.payments.get().session_id)
    assert delivered.json()["outcome"] == "refunded"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not booking.tickets.exists()
    # One ticket per seat: A4 is bob's alone, A3 is free again.
    assert sorted(Ticket.objects.values_list("seat__label", flat=True)) == ["A4", "A5"]
    assert "A3" not in holds.held_labels(showtime_id=showtime.pk, labels=["A3"])
    refund = Refund.objects.get(payment__booking=booking)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount == Decimal("20.00")
    assert refund.reason == services.SEATS_TAKEN
    assert MockRefund.objects.get(session_id=_session(booking).id).amount == Decimal("20.00")
    event = AuditEvent.objects.get(booking_ref=booking.ref, kind=Kind.PAYMENT_REFUNDED)
    assert event.detail["email"] == user.email
    assert AuditEvent.objects.emailing().filter(pk=event.pk).exists()


def test_a_second_payment_for_a_paid_booking_is_refunded(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    first, second = start_paying(booking), start_paying(booking)
    assert first != second
    pay_on_gateway(buyer, first)
    pay_on_gateway(buyer, second)
    outcomes = [r.json()["outcome"] for r in deliver_webhooks(buyer)]
    assert outcomes[:2] == ["confirmed", "refunded"]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.tickets.count() == 1
    refund = Refund.objects.get()
    assert (refund.reason, refund.status) == (services.PAID_TWICE, Refund.Status.SUCCEEDED)


def test_every_attempt_has_a_fresh_key_and_a_reheld_booking_is_never_charged_on_an_old_one(
    showtime, user
):
    """Finding 2: the key was the booking ref, reused after a void and for a different amount."""
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    old = start_paying(booking)
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    new = start_paying(booking)
    keys = set(Payment.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == 2 and booking.ref not in keys
    pay_on_gateway(buyer, old)
    [stale] = deliver_webhooks(buyer)
    assert stale.json()["outcome"] == "refunded"
    assert Refund.objects.get().reason == services.BOOKING_CHANGED
    assert MockRefund.objects.get().amount == Decimal("10.00")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING, "the attempt for the new seats still counts"
    pay_on_gateway(buyer, new)
    assert "confirmed" in [r.json()["outcome"] for r in deliver_webhooks(buyer)]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payments.get(status=Payment.Status.SUCCEEDED, charge=booking.payment_ref)
    assert booking.tickets.count() == 2


def test_a_gateway_that_cannot_be_reached_leaves_a_closed_record_and_charges_nothing(
    showtime, user, settings
):
    settings.PAYMENT_GATEWAY = f"{__name__}.UnreachableGateway"
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    response = _signed_in(user).post(f"/bookings/{booking.ref}/pay/", follow=True)
    assert "could not be reached" in response.text
    payment = booking.payments.get()
    assert payment.status == Payment.Status.FAILED
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert not MockSession.objects.exists()


class UnreachableGateway(MockGateway):
    def create_session(self, **kwargs):
        raise GatewayError("connection refused")


class CrashAfterCreate(MockGateway):
    """The process dies right after the gateway opened the page, before we stored its id."""

    def create_session(self, **kwargs):
        super().create_session(**kwargs)
        raise SystemExit("killed")


def test_a_crash_after_the_gateway_opened_the_page_is_found_by_its_reference(
    showtime, user, settings
):
    settings.PAYMENT_GATEWAY = f"{__name__}.CrashAfterCreate"
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    with pytest.raises(SystemExit):
        start_paying(booking)
    payment = booking.payments.get()
    assert (payment.status, payment.session_id) == (Payment.Status.CREATED, None)
    # The buyer never saw the page, but say the page was paid anyway (a retried request):
    session = MockSession.objects.get()
    Client().post(f"/mock-gateway/checkout/{session.id}/", _card())
    settings.PAYMENT_GATEWAY = "payments.mock.gateway.MockGateway"
    [delivered] = deliver_webhooks(Client())
    assert delivered.json()["outcome"] == "confirmed"
    payment.refresh_from_db()
    assert payment.session_id == session.id


def _card(number: str = "4242424242424242") -> dict:
    return {"card": number, "exp": "12/39", "cvc": "123"}


def _post_event(client, body: bytes, *, secret: str, timestamp: int | None = None):
    return client.post(
        "/payments/webhook/",
        data=body,
        content_type="application/json",
        headers={"Mock-Signature": signing.sign(payload=body, secret=secret, timestamp=timestamp)},
    )


def test_a_webhook_with_a_bad_or_old_signature_is_refused_audited_and_changes_nothing(
    showtime, user, settings
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    pay_on_gateway(buyer, start_paying(booking))
    [delivery] = pending()
    forged = _post_event(buyer, delivery.body, secret="not-the-secret")
    old = _post_event(
        buyer,
        delivery.body,
        secret=settings.PAYMENT_WEBHOOK_SECRET,
        timestamp=int(time.time()) - settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS - 60,
    )
    unsigned = buyer.post("/payments/webhook/", data=delivery.body, content_type="application/json")
    tampered = json.loads(delivery.body)
    tampered["data"]["session"]["amount"] = "0.01"
    altered = buyer.post(
        "/payments/webhook/",
        data=json.dumps(tampered).encode(),
        content_type="application/json",
        headers=delivery.headers,
    )
    for response in (forged, old, unsigned, altered):
        assert response.status_code == 400
        assert response.json()["error"]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert not WebhookEvent.objects.exists()
    assert AuditEvent.objects.filter(kind=Kind.WEBHOOK_REJECTED).count() == 4


def _with(event: dict, path: tuple, value) -> bytes:
    """The event as JSON with the field at `path` set to `value`."""
    event = json.loads(json.dumps(event))
    *parents, last = path
    node = event
    for key in parents:
        node = node[key]
    node[last] = value
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "change",
    [
        ("id", "e" * 129),
        ("id", "evt_\u0000nul"),
        ("id", {"not": "an id"}),
        (("data", "session", "id"), "ms_\u0000"),
        (("data", "session", "id"), "s" * 200),
        (("data", "session", "charge"), "ch_" + "9" * 200),
        (("data", "session", "client_reference"), ["a list"]),
    ],
    ids=[
        "long id",
        "nul in id",
        "object id",
        "nul in session",
        "long session",
        "long charge",
        "list ref",
    ],
)
def test_a_validly_signed_event_with_malformed_ids_is_a_400(showtime, user, settings, change):
    """Signed with our own secret (a leaked secret, or a provider's bug) and still malformed:
    refused with the reason and audited, never a server error."""
    path, value = change
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    pay_on_gateway(buyer, start_paying(booking))
    [delivery] = pending()
    body = _with(json.loads(delivery.body), path if isinstance(path, tuple) else (path,), value)
    response = _post_event(buyer, body, secret=settings.PAYMENT_WEBHOOK_SECRET)
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]
    assert not WebhookEvent.objects.exists()
    assert AuditEvent.objects.filter(kind=Kind.WEBHOOK_REJECTED).count() == 1
    assert not AuditEvent.objects.filter(kind=Kind.SYSTEM_ERROR).exists()


def test_a_validly_signed_event_nested_too_deep_is_a_400(showtime, user, settings):
    body = b'{"type": "payment.succeeded", "data": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    response = _post_event(Client(), body, secret=settings.PAYMENT_WEBHOOK_SECRET)
    assert response.status_code == 400
    assert AuditEvent.objects.filter(kind=Kind.WEBHOOK_REJECTED).count() == 1
    assert not AuditEvent.objects.filter(kind=Kind.SYSTEM_ERROR).exists()


def test_a_webhook_for_an_unknown_payment_is_refused(showtime, user, settings):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    pay_on_gateway(buyer, start_paying(booking))
    [delivery] = pending()
    event = json.loads(delivery.body)
    event["id"] = "evt_test_unknown"
    event["data"]["session"]["id"] = "cs_test_nobody"
    event["data"]["session"]["client_reference"] = "nobody"
    response = _post_event(
        buyer, json.dumps(event).encode(), secret=settings.PAYMENT_WEBHOOK_SECRET
    )
    assert response.status_code == 400
    assert "No payment here matches" in response.json()["error"]
    assert not WebhookEvent.objects.exists()
    assert AuditEvent.objects.filter(kind=Kind.WEBHOOK_REJECTED).exists()


def test_junk_sent_to_the_webhook_is_a_400(client, db):
    assert client.get("/payments/webhook/").status_code == 405
    assert (
        client.post("/payments/webhook/", data=b"{", content_type="application/json").status_code
        == 400
    )
    big = b"x" * (70 * 1024)
    assert (
        client.post("/payments/webhook/", data=big, content_type="application/json").status_code
        == 413
    )


def test_a_customer_cancels_a_paid_booking_for_a_full_refund(showtime, user, bob):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))
    buyer = _signed_in(user)
    response = buyer.post(f"/bookings/{booking.ref}/cancel/", follow=True)
    assert "£20.00 is on its way back to your card" in response.text
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not booking.tickets.exists()
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.seats) == (
        Decimal("20.00"),
        Refund.Status.SUCCEEDED,
        ["A3", "A4"],
    )
    assert refund.reference == MockRefund.objects.get().id
    # The seats are for sale again at once.
    assert services.hold_seats(user=bob, showtime=showtime, labels=["A3", "A4"])


def test_no_customer_refund_inside_the_cutoff(showtime, user, settings):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    settings.REFUND_CUTOFF_HOURS = 25  # the show is 24 hours away
    response = _signed_in(user).post(f"/bookings/{booking.ref}/cancel/")
    assert response.status_code == 409
    assert "up to 25 hours before the show" in response.text
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert not Refund.objects.exists()


def test_staff_refund_one_ticket_of_three_frees_just_that_seat(showtime, user, staff_user, bob):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4", "A5"]))
    refund = services.refund_tickets(
        booking=booking, actor=staff_user, reason="refunded by staff", labels=["A4"], why="broken"
    )
    assert (refund.amount, refund.seats, refund.status) == (
        Decimal("10.00"),
        ["A4"],
        Refund.Status.SUCCEEDED,
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.seat_labels == ["A3", "A5"]
    assert sorted(booking.tickets.values_list("seat__label", flat=True)) == ["A3", "A5"]
    released = AuditEvent.objects.filter(booking_ref=booking.ref, kind=Kind.SEATS_RELEASED).get()
    assert released.seats == ["A4"]
    assert released.detail["partial"] is True
    assert released.detail["staff_reason"] == "broken"
    assert services.hold_seats(user=bob, showtime=showtime, labels=["A4"])
    with pytest.raises(BookingClosed, match="already been refunded"):
        services.refund_tickets(booking=booking, actor=staff_user, reason="x", labels=["A4"])
    with pytest.raises(InvalidRequest, match="more than was paid"):
        services.refund_tickets(
            booking=booking, actor=staff_user, reason="x", labels=["A3"], amount=Decimal("10.01")
        )
    with pytest.raises(InvalidRequest, match="not a seat of this booking"):
        services.refund_tickets(booking=booking, actor=staff_user, reason="x", labels=["B1"])
    assert Refund.objects.count() == 1
    assert booking.tickets.count() == 2


def test_refunding_a_refunded_booking_is_refused(showtime, user, staff_user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    services.cancel_booking(booking=booking)
    with pytest.raises(BookingClosed):
        services.refund_tickets(booking=booking, actor=staff_user, reason="again")
    assert Refund.objects.count() == 1


def test_cancelling_while_the_payment_lands_refunds_it_and_says_released(showtime, user):
    """Finding 3: the buyer was told "released" while the booking ended confirmed and charged."""
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = _signed_in(user)
    pay_on_gateway(buyer, start_paying(booking))
    response = buyer.post(f"/bookings/{booking.ref}/cancel/", follow=True)
    assert "Your seats have been released." in response.text
    [delivered] = deliver_webhooks(buyer)
    assert delivered.json()["outcome"] == "refunded"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not booking.tickets.exists()
    assert Refund.objects.get().reason == services.BOOKING_CANCELLED
    assert MockRefund.objects.get().amount == booking.amount


def test_a_lost_webhook_is_settled_by_the_sweeper_asking_the_gateway(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    pay_on_gateway(Client(), start_paying(booking))
    later = timezone.now() + timedelta(hours=1)
    services.expire_stale_bookings(now=later)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_failed_refund_stays_owed_until_reconciliation_sends_it(showtime, user, settings):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    settings.PAYMENT_GATEWAY = f"{__name__}.RefundsDown"
    (refund,) = services.cancel_booking(booking=booking).refunds
    assert refund.status == Refund.Status.REQUESTED
    assert not MockRefund.objects.exists()
    page = _signed_in(user).get(f"/bookings/{booking.ref}/")
    assert "£10.00 is on its way back to your card" in page.text
    settings.PAYMENT_GATEWAY = "payments.mock.gateway.MockGateway"
    from bookings.reconcile import reconcile_payments

    report = reconcile_payments(since=timezone.now() - timedelta(days=1))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert any("sent" in line for line in report.fixed)
    assert report.attention == []
    # Asked again, the gateway pays nothing twice.
    assert reconcile_payments(since=timezone.now() - timedelta(days=1)).fixed == []
    assert MockRefund.objects.count() == 1


class RefundsDown(MockGateway):
    def refund(self, **kwargs):
        raise GatewayError("timeout")


def test_a_session_that_expires_unpaid_closes_the_attempt(showtime, user):
    from payments.mock.services import expire_session

    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    start_paying(booking)
    expire_session(session_id=booking.payments.get().session_id)
    deliver_webhooks(Client())
    assert booking.payments.get().status == Payment.Status.FAILED
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING


def test_paying_a_booking_whose_hold_is_gone_charges_nothing(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    _lose_hold(booking)
    response = _signed_in(user).post(f"/bookings/{booking.ref}/pay/")
    assert response.status_code == 409
    assert "Nothing was charged" in response.text
    assert not MockSession.objects.exists()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED


def test_a_payment_failure_message_is_not_a_500(showtime, user, settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.UnreachableGateway"
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    with pytest.raises(PaymentFailed):
        start_paying(booking)
