"""Two requests at once on one session: the row lock makes them take turns.

These need a database that lets writers work side by side (PostgreSQL); SQLite serialises every
write transaction, so CI runs them in its PostgreSQL pass.
"""

from decimal import Decimal

import pytest

from payments.gateway import GatewayError
from payments.mock import services
from payments.mock.models import MockRefund, MockWebhook
from payments.mock.tests.conftest import session_params
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = [pytest.mark.django_db(transaction=True), POSTGRES_ONLY]


def test_concurrent_refunds_never_exceed_the_charge(gateway, new_session):
    session = new_session(amount=Decimal("10.00"))
    services.pay_session(session_id=session.id)

    results = at_once(
        lambda n: gateway.refund(
            session_id=session.id, amount=Decimal("3.00"), idempotency_key=f"refund-{n}"
        ),
        list(range(8)),
    )
    refused = [result for result in results.values() if isinstance(result, GatewayError)]
    assert len(refused) == 5, results
    assert all("greater than the unrefunded amount" in str(error) for error in refused)
    assert MockRefund.objects.count() == 3
    assert gateway.retrieve_session(session_id=session.id).refunded == Decimal("9.00")
    assert MockWebhook.objects.filter(type="refund.succeeded").count() == 3


def test_the_same_refund_key_at_once_refunds_once(gateway, new_session):
    session = new_session(amount=Decimal("10.00"))
    services.pay_session(session_id=session.id)
    results = at_once(
        lambda n: gateway.refund(
            session_id=session.id, amount=Decimal("4.00"), idempotency_key="same"
        ),
        list(range(6)),
    )
    assert len({result.id for result in results.values()}) == 1, results
    assert MockRefund.objects.count() == 1


def test_paying_twice_at_once_charges_once(new_session):
    session = new_session()
    results = at_once(lambda n: services.pay_session(session_id=session.id), list(range(6)))
    assert len({result.charge for result in results.values()}) == 1, results
    assert MockWebhook.objects.filter(type="payment.succeeded").count() == 1


def test_the_same_session_key_at_once_makes_one_session(gateway):
    params = session_params()
    results = at_once(lambda n: gateway.create_session(**params), list(range(6)))
    assert len({result.id for result in results.values()}) == 1, results
