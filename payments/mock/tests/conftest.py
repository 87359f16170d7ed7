import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.mock.gateway import MockGateway


@pytest.fixture(autouse=True)
def manual_webhooks(settings):
    """Nothing is posted unless a test says so: deliveries wait in the outbox."""
    settings.MOCK_GATEWAY_WEBHOOKS = "manual"
    settings.MOCK_GATEWAY_WEBHOOK_DELAY_SECONDS = 0
    settings.MOCK_GATEWAY_WEBHOOK_DUPLICATE = False
    settings.MOCK_GATEWAY_WEBHOOK_REORDER = False


@pytest.fixture
def gateway():
    return MockGateway()


def session_params(**overrides) -> dict:
    return {
        "amount": Decimal("12.50"),
        "currency": "GBP",
        "idempotency_key": secrets.token_urlsafe(16),
        "client_reference": "booking-ABC123",
        "return_url": "/bookings/ABC123/",
        "cancel_url": "/bookings/ABC123/?cancelled=1",
        "expires_at": timezone.now() + timedelta(minutes=30),
        **overrides,
    }


@pytest.fixture
def new_session(db, gateway):
    """Makes a session on the mock provider, as the booking side does before sending the buyer."""

    def make(**overrides):
        return gateway.create_session(**session_params(**overrides))

    return make
