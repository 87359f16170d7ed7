"""Paying with Stripe in Chromium: our checkout page loads Stripe.js (localstripe's stand-in, from
a real localstripe process), the buyer passes 3-D Secure in its prompt, and the return page shows
the ticket once localstripe's webhook has reached the server.

localstripe's stand-in cannot pay an intent from the card field (its `confirmCardPayment` ignores
the card and only runs 3-D Secure on an intent that asks for it), so the test puts the buyer's
3-D Secure card on the intent through localstripe's API, as Stripe.js would have from the field;
everything after that goes through the page and the stand-in (README, "Testing against
localstripe").
"""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import HOLD_TTL
from tests.e2e.stack import running_stack
from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live
from tests.localstripe import PUBLISHABLE_KEY, SECRET_KEY, THREE_D_SECURE_CARD, WEBHOOK_SECRET


@pytest.fixture(scope="module")
def stack(localstripe):
    env = {
        "PAYMENT_GATEWAY": "payments.stripe.gateway.StripeGateway",
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe.url,
        "STRIPE_JS_URL": f"{localstripe.url}/js.stripe.com/v3/",
    }
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=HOLD_TTL, extra_env=env) as urls:
        localstripe.send_webhooks_to(f"{urls[0]}/payments/webhook/")
        yield urls


def _to_checkout(open_page, stack, seat: str):
    page = open_page("alice", _a_showtime_path(stack[0]))
    _wait_live(page)
    page.click(f"#seat-{seat}")
    page.click("text=Hold seats")
    page.wait_for_url("**/bookings/*/")
    page.click("text=Pay £")
    page.wait_for_url(re.compile(r".*/payments/stripe/checkout/pi_\w+:[\w-]+/$"))
    # Stripe.js (here the stand-in) mounted its card field and the button is live.
    expect(page.locator("#card-element input").first).to_be_visible()
    expect(page.locator("#stripe-checkout button[type=submit]")).to_be_enabled()
    secret = page.locator("#stripe-checkout").get_attribute("data-secret")
    return page, re.match(r"(pi_\w+)_secret_", secret)[1]


def _card_needing_3d_secure(localstripe, intent_id: str) -> None:
    intent = localstripe.pay(intent_id, card=THREE_D_SECURE_CARD)
    assert intent["status"] == "requires_action"


def test_a_card_passing_3d_secure_lands_on_the_ticket(open_page, stack, localstripe):
    page, intent_id = _to_checkout(open_page, stack, "G7")
    _card_needing_3d_secure(localstripe, intent_id)
    page.click("#stripe-checkout button[type=submit]")
    page.click("text=Complete authentication")
    page.wait_for_url("**/bookings/*/paid/")
    expect(page.locator(".status--confirmed")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("heading", name="Your ticket")).to_be_visible()
    assert localstripe.call("GET", f"/v1/payment_intents/{intent_id}")["status"] == "succeeded"
    errors = [m.text for m in page.console_messages if m.type == "error"]
    assert errors == [], errors


def test_a_failed_3d_secure_says_so_and_charges_nothing(open_page, stack, localstripe):
    page, intent_id = _to_checkout(open_page, stack, "G8")
    _card_needing_3d_secure(localstripe, intent_id)
    page.click("#stripe-checkout button[type=submit]")
    page.click("text=Fail authentication")
    expect(page.locator("#card-errors")).to_contain_text("Your card was not charged")
    assert "/payments/stripe/checkout/" in page.url
    intent = localstripe.call("GET", f"/v1/payment_intents/{intent_id}")
    assert intent["status"] == "requires_payment_method"
