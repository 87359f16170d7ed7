"""MockGateway as the booking side uses it: sessions, refunds, expiry, webhooks, the guard."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from payments.gateway import (
    BadSignature,
    EventType,
    GatewayError,
    Refund,
    Session,
    SessionStatus,
    get_gateway,
)
from payments.mock import services, webhooks
from payments.mock.gateway import MockGateway
from payments.mock.models import MockRefund, MockSession, MockWebhook
from payments.mock.tests.conftest import session_params
from payments.signing import sign

pytestmark = pytest.mark.django_db


def _paid(new_session, **overrides) -> Session:
    session = new_session(**overrides)
    services.pay_session(session_id=session.id)
    return session


def _types(session_id: str) -> list[str]:
    return list(
        MockWebhook.objects.filter(session_id=session_id)
        .order_by("created_at")
        .values_list("type", flat=True)
    )


def _past_its_expiry(session: Session) -> None:
    MockSession.objects.filter(pk=session.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_get_gateway_gives_the_mock_by_default():
    assert isinstance(get_gateway(), MockGateway)


def test_a_new_session_is_open_at_a_path_on_this_site(new_session):
    session = new_session()
    assert session.id.startswith("cs_test_") and len(session.id) == len("cs_test_") + 24
    assert session.url == f"/mock-gateway/checkout/{session.id}/"
    assert session.status is SessionStatus.OPEN
    assert session.amount == Decimal("12.50") and session.currency == "GBP"
    assert session.client_reference == "booking-ABC123"
    assert session.charge == "" and session.refunded == Decimal("0.00")
    assert session.created_at.tzinfo is not None


def test_the_same_key_again_returns_the_same_session(gateway):
    params = session_params()
    first = gateway.create_session(**params)
    again = gateway.create_session(**{**params, "return_url": "/elsewhere/"})
    assert again == first
    assert MockSession.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [{"amount": Decimal("12.51")}, {"currency": "EUR"}, {"client_reference": "booking-OTHER"}],
)
def test_the_same_key_with_other_parameters_is_refused(gateway, change):
    params = session_params()
    gateway.create_session(**params)
    with pytest.raises(GatewayError, match="can only be used with the same parameters"):
        gateway.create_session(**{**params, **change})
    assert MockSession.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("0"), "greater than zero"),
        (Decimal("-1"), "greater than zero"),
        (Decimal("1.005"), "two decimal places"),
    ],
)
def test_a_session_needs_a_positive_amount_in_cents(gateway, amount, message):
    with pytest.raises(GatewayError, match=message):
        gateway.create_session(**session_params(amount=amount))


def test_retrieve_gives_the_session_as_it_is_now(gateway, new_session):
    session = _paid(new_session)
    now = gateway.retrieve_session(session_id=session.id)
    assert now.status is SessionStatus.PAID
    assert now.charge.startswith("ch_test_")
    with pytest.raises(GatewayError, match="No such checkout session"):
        gateway.retrieve_session(session_id="cs_test_missing")


def test_a_session_past_its_expiry_expires_when_looked_at_once(gateway, new_session):
    session = new_session()
    _past_its_expiry(session)
    assert gateway.retrieve_session(session_id=session.id).status is SessionStatus.EXPIRED
    assert gateway.retrieve_session(session_id=session.id).status is SessionStatus.EXPIRED
    [found] = gateway.list_sessions(created_after=session.created_at - timedelta(seconds=1))
    assert found.status is SessionStatus.EXPIRED
    assert _types(session.id) == ["session.expired"]
    assert MockSession.objects.get(pk=session.id).status == "expired"


def test_an_expired_session_cannot_be_paid(new_session):
    session = new_session()
    _past_its_expiry(session)
    assert services.pay_session(session_id=session.id).status == SessionStatus.EXPIRED
    assert _types(session.id) == ["session.expired"]


def test_list_gives_the_sessions_created_after_the_time_oldest_first(gateway, new_session):
    first, second, third = new_session(), new_session(), new_session()
    _past_its_expiry(second)
    listed = gateway.list_sessions(created_after=first.created_at)
    assert [session.id for session in listed] == [second.id, third.id]
    assert [session.status for session in listed] == [SessionStatus.EXPIRED, SessionStatus.OPEN]
    assert gateway.list_sessions(created_after=timezone.now()) == []


def test_list_reads_every_session_and_its_refunds_in_one_query(
    gateway, new_session, django_assert_num_queries
):
    start = timezone.now() - timedelta(seconds=1)
    sessions = [_paid(new_session) for _ in range(3)]
    for n, session in enumerate(sessions):
        for part in range(n):
            services.refund_session(
                session_id=session.id, amount=Decimal("1.25"), idempotency_key=f"{n}-{part}"
            )
    with django_assert_num_queries(1):
        listed = gateway.list_sessions(created_after=start)
    assert [session.refunded for session in listed] == [
        Decimal("0.00"),
        Decimal("1.25"),
        Decimal("2.50"),
    ]
    assert listed == [gateway.retrieve_session(session_id=session.id) for session in sessions]


def test_expire_session_ends_an_open_session_now(gateway, new_session):
    session = new_session()
    assert gateway.expire_session(session_id=session.id).status is SessionStatus.EXPIRED
    assert gateway.expire_session(session_id=session.id).status is SessionStatus.EXPIRED
    assert _types(session.id) == ["session.expired"]
    with pytest.raises(GatewayError, match="this one is paid"):
        gateway.expire_session(session_id=_paid(new_session).id)


def test_a_refund_gives_back_part_of_the_charge(gateway, new_session):
    session = _paid(new_session)
    refund = gateway.refund(
        session_id=session.id, amount=Decimal("5.00"), idempotency_key="r1", reason="seat A1"
    )
    assert refund == Refund(id=refund.id, session_id=session.id, amount=Decimal("5.00"))
    assert refund.id.startswith("re_test_")
    assert gateway.retrieve_session(session_id=session.id).refunded == Decimal("5.00")
    assert _types(session.id) == ["payment.succeeded", "refund.succeeded"]


def test_the_same_refund_key_again_returns_the_same_refund(gateway, new_session):
    session = _paid(new_session)
    refund = {"session_id": session.id, "amount": Decimal("5.00"), "idempotency_key": "r1"}
    first = gateway.refund(**refund)
    assert gateway.refund(**refund) == first
    assert MockRefund.objects.count() == 1
    assert _types(session.id).count("refund.succeeded") == 1
    with pytest.raises(GatewayError, match="can only be used with the same parameters"):
        gateway.refund(**{**refund, "amount": Decimal("6.00")})
    with pytest.raises(GatewayError, match="can only be used with the same parameters"):
        gateway.refund(**{**refund, "session_id": _paid(new_session).id})


def test_refunds_never_add_up_to_more_than_the_charge(gateway, new_session):
    session = _paid(new_session)
    gateway.refund(session_id=session.id, amount=Decimal("10.00"), idempotency_key="r1")
    with pytest.raises(
        GatewayError,
        match=r"Refund amount \(£3.00\) is greater than the unrefunded amount \(£2.50\)\.",
    ):
        gateway.refund(session_id=session.id, amount=Decimal("3.00"), idempotency_key="r2")
    gateway.refund(session_id=session.id, amount=Decimal("2.50"), idempotency_key="r3")
    assert gateway.retrieve_session(session_id=session.id).refunded == Decimal("12.50")
    assert MockRefund.objects.count() == 2


def test_only_a_paid_session_can_be_refunded(gateway, new_session):
    session = new_session()
    with pytest.raises(GatewayError, match="no charge to refund"):
        gateway.refund(session_id=session.id, amount=Decimal("1.00"), idempotency_key="r1")
    with pytest.raises(GatewayError, match="No such checkout session"):
        gateway.refund(session_id="cs_test_missing", amount=Decimal("1"), idempotency_key="r2")
    assert not MockRefund.objects.exists()


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00")])
def test_a_refund_must_be_more_than_nothing(gateway, new_session, amount):
    session = _paid(new_session)
    with pytest.raises(GatewayError, match="greater than zero"):
        gateway.refund(session_id=session.id, amount=amount, idempotency_key="r1")


def _calls(gateway, *, open_id: str, paid_id: str):
    return {
        "create_session": lambda: gateway.create_session(**session_params()),
        "retrieve_session": lambda: gateway.retrieve_session(session_id=open_id),
        "list_sessions": lambda: gateway.list_sessions(created_after=timezone.now()),
        "refund": lambda: gateway.refund(
            session_id=paid_id, amount=Decimal("1.00"), idempotency_key="guard"
        ),
        "expire_session": lambda: gateway.expire_session(session_id=open_id),
    }


@pytest.mark.parametrize(
    "call", ["create_session", "retrieve_session", "list_sessions", "refund", "expire_session"]
)
def test_the_gateway_is_never_called_inside_a_transaction(gateway, new_session, call):
    calls = _calls(gateway, open_id=new_session().id, paid_id=_paid(new_session).id)
    before = (MockSession.objects.count(), MockRefund.objects.count(), MockWebhook.objects.count())
    with transaction.atomic():
        with pytest.raises(RuntimeError, match="commit the payment record first"):
            calls[call]()
        after = (
            MockSession.objects.count(),
            MockRefund.objects.count(),
            MockWebhook.objects.count(),
        )
        assert after == before
    calls[call]()  # outside it, the same call goes through


def _deliveries() -> dict[str, webhooks.Delivery]:
    return {json.loads(d.body)["type"]: d for d in webhooks.pending()}


def _every_kind_of_event(gateway, new_session) -> tuple[Session, Session]:
    paid = new_session()
    services.fail_payment(session_id=paid.id, reason="Your card was declined.")
    services.pay_session(session_id=paid.id)
    gateway.refund(session_id=paid.id, amount=Decimal("2.50"), idempotency_key="r1")
    expired = new_session()
    gateway.expire_session(session_id=expired.id)
    return paid, expired


def test_every_event_type_parses_back_from_a_webhook_request(gateway, new_session):
    paid, expired = _every_kind_of_event(gateway, new_session)
    deliveries = _deliveries()
    assert set(deliveries) == {event_type.value for event_type in EventType}
    events = {}
    for event_type, delivery in deliveries.items():
        # As the booking side's webhook view gets it: raw body, Django's case-insensitive headers.
        request = RequestFactory().post(
            "/payments/webhook/",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
        events[event_type] = gateway.parse_webhook(payload=request.body, headers=request.headers)
        assert events[event_type].id == delivery.event_id
        assert events[event_type].type is EventType(event_type)

    failed = events["payment.failed"]
    assert failed.reason == "Your card was declined."
    assert failed.session.status is SessionStatus.OPEN and failed.session.charge == ""
    assert failed.refund is None

    succeeded = events["payment.succeeded"]
    now = gateway.retrieve_session(session_id=paid.id)
    assert succeeded.session.status is SessionStatus.PAID
    assert succeeded.session.charge == now.charge
    assert succeeded.session.amount == Decimal("12.50")
    assert succeeded.session.refunded == Decimal("0.00")
    assert succeeded.session.url == paid.url
    assert succeeded.session.client_reference == "booking-ABC123"
    assert succeeded.session.created_at == paid.created_at.replace(microsecond=0)
    assert succeeded.session.created_at.tzinfo is UTC

    refunded = events["refund.succeeded"]
    assert refunded.refund == Refund(
        id=MockRefund.objects.get().id, session_id=paid.id, amount=Decimal("2.50")
    )
    assert refunded.session.refunded == Decimal("2.50")

    assert events["session.expired"].session.id == expired.id
    assert events["session.expired"].session.status is SessionStatus.EXPIRED


def test_a_delivery_posted_twice_is_the_same_event(gateway, new_session):
    _paid(new_session)
    [delivery] = webhooks.pending()
    first = gateway.parse_webhook(payload=delivery.body, headers=delivery.headers)
    [again] = webhooks.pending()  # signed afresh, same event
    assert gateway.parse_webhook(payload=again.body, headers=again.headers) == first


def test_a_webhook_with_a_bad_signature_is_refused(gateway, new_session, settings):
    _paid(new_session)
    [delivery] = webhooks.pending()
    with pytest.raises(BadSignature):
        gateway.parse_webhook(payload=delivery.body, headers={})
    with pytest.raises(BadSignature):
        gateway.parse_webhook(
            payload=delivery.body.replace(b"paid", b"open"), headers=delivery.headers
        )
    forged = sign(payload=delivery.body, secret="whsec-not-ours")
    with pytest.raises(BadSignature):
        gateway.parse_webhook(payload=delivery.body, headers={"Mock-Signature": forged})
    settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 60
    stale = sign(payload=delivery.body, secret=settings.PAYMENT_WEBHOOK_SECRET, timestamp=1)
    with pytest.raises(BadSignature, match="too old"):
        gateway.parse_webhook(payload=delivery.body, headers={"mock-signature": stale})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not an event"),
        (b"[]", "not an event"),
        (b'{"id": "evt_test_1"}', "not an event"),
        (b'{"id": "evt_test_1", "type": "charge.dispute.created", "data": {}}', "Unknown"),
        (b'{"id": "evt_test_1", "type": ["payment.succeeded"], "data": {}}', "Unknown"),
        (b'{"id": "evt_test_1", "type": "payment.succeeded", "data": {}}', "not an event"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_a_gateway_error(gateway, settings, body, message):
    headers = {"Mock-Signature": sign(payload=body, secret=settings.PAYMENT_WEBHOOK_SECRET)}
    with pytest.raises(GatewayError, match=message) as raised:
        gateway.parse_webhook(payload=body, headers=headers)
    assert not isinstance(raised.value, BadSignature)


def test_a_snapshot_with_a_bad_amount_is_a_gateway_error(gateway, new_session, settings):
    _paid(new_session)
    [delivery] = webhooks.pending()
    data = json.loads(delivery.body)
    for amount in (12.5, "twelve"):
        data["data"]["session"]["amount"] = amount
        body = json.dumps(data).encode()
        headers = {"Mock-Signature": sign(payload=body, secret=settings.PAYMENT_WEBHOOK_SECRET)}
        with pytest.raises(GatewayError, match="not an event"):
            gateway.parse_webhook(payload=body, headers=headers)


def test_parse_webhook_works_inside_a_transaction(gateway, new_session):
    _paid(new_session)
    [delivery] = webhooks.pending()
    with transaction.atomic():
        event = gateway.parse_webhook(payload=delivery.body, headers=delivery.headers)
    assert event.type is EventType.PAYMENT_SUCCEEDED


def test_the_event_body_is_the_documented_shape(new_session):
    session = _paid(new_session)
    [delivery] = webhooks.pending()
    body = json.loads(delivery.body)
    assert set(body) == {"id", "type", "created", "data"}
    assert body["id"] == delivery.event_id and body["id"].startswith("evt_test_")
    assert abs(body["created"] - datetime.now(UTC).timestamp()) < 60
    assert set(body["data"]) == {"session", "reason", "refund"}
    assert body["data"]["session"] == {
        "id": session.id,
        "url": session.url,
        "status": "paid",
        "amount": "12.50",
        "currency": "GBP",
        "client_reference": "booking-ABC123",
        "created": int(session.created_at.timestamp()),
        "charge": MockSession.objects.get(pk=session.id).charge,
        "refunded": "0.00",
    }
    assert body["data"]["refund"] is None
    assert MockWebhook.objects.get().body == delivery.body.decode()
