"""The Stripe provider against a real localstripe process (tests/localstripe.py; the process and
its webhook inbox are the root conftest's, one per test session), emptied before each test."""

import pytest
from django.conf import settings as django_settings

from tests.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET


@pytest.fixture
def stripe_on(settings, localstripe, inbox):
    """Stripe as the payment provider, pointed at localstripe, its webhooks to the inbox."""
    settings.PAYMENT_GATEWAY = django_settings.STRIPE_GATEWAY
    settings.INSTALLED_APPS = [*django_settings.INSTALLED_APPS, "payments.stripe"]
    settings.ROOT_URLCONF = "payments.stripe.tests.urls"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    settings.PAYMENT_WEBHOOK_SECRET = WEBHOOK_SECRET
    localstripe.flush()
    localstripe.send_webhooks_to(inbox.url)
    inbox.clear()
    return localstripe
