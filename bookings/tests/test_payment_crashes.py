"""A web process killed (`kill -9`) at any step of paying loses nothing, with either provider.

Finding 1 of the payments issue: `kill -9` after the gateway charged and before the commit left
a charge with no payment row, no refund and no audit event. Now the attempt is a committed row
before the gateway is asked, so a process killed at any step leaves a record that reconciliation
(or the gateway's retry of its webhook, or the sweeper) settles, once. Each test runs with the
mock and with Stripe (against a real localstripe process).
"""

import json
import signal
from pathlib import Path

import pytest

from tests.crashes import crash_env, run
from tests.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

WORKER = Path(__file__).with_name("crashing_worker.py")


@pytest.fixture(params=["mock", "stripe"])
def provider(request, tmp_path, redis_db, settings):
    """The environment of the worker's processes, with the provider under test."""
    if request.param == "mock":
        return Provider(env=crash_env(tmp_path, settings.REDIS_URL))
    localstripe = request.getfixturevalue("localstripe")
    inbox = request.getfixturevalue("inbox")
    localstripe.flush()
    localstripe.send_webhooks_to(inbox.url)
    inbox.clear()
    env = crash_env(
        tmp_path,
        settings.REDIS_URL,
        PAYMENT_GATEWAY=settings.STRIPE_GATEWAY,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe.url,
        WEBHOOK_FILE=str(tmp_path / "webhooks.json"),
    )
    return Provider(env=env, inbox=inbox)


class Provider:
    def __init__(self, *, env: dict, inbox=None):
        self.env, self.inbox = env, inbox

    @property
    def stripe(self) -> bool:
        return self.inbox is not None

    def step(self, name: str, *, check: bool = True):
        return run(self.env, str(WORKER), name, check=check)

    def pay(self) -> None:
        """Pay on the gateway's page; with Stripe, hand the webhook it sent to the worker."""
        self.step("pay")
        if self.stripe:
            delivery = self.inbox.wait("payment_intent.succeeded")
            signature = next(
                v for k, v in delivery.headers.items() if k.lower() == "stripe-signature"
            )
            Path(self.env["WEBHOOK_FILE"]).write_text(
                json.dumps([{"body": delivery.body.decode(), "signature": signature}])
            )

    def state(self) -> dict:
        return json.loads(self.step("state").stdout)

    def manage(self, *args: str, check: bool = True):
        return run(self.env, "manage.py", *args, check=check)


def test_a_worker_killed_after_recording_the_attempt_charges_nothing_and_is_closed(provider):
    provider.step("setup")
    killed = provider.step("start", check=False)
    assert killed.returncode == -signal.SIGKILL
    assert (
        provider.state().items()
        >= {
            "booking": "pending",
            "payments": ["created"],
            "opened": 0,
            "charged": 0,
        }.items()
    )

    fresh = provider.manage("reconcile_payments")
    assert "0 fixed, 0 need a person" in fresh.stdout, "a fresh attempt may still be on its way"
    provider.step("age")
    closed = provider.manage("reconcile_payments")
    assert "never reached the gateway: closed" in closed.stdout, closed.stdout
    assert provider.state().items() >= {"payments": ["failed"], "charged": 0}.items()


def test_a_worker_killed_after_the_gateway_opened_its_page_charges_nothing(provider):
    """The page's id was never stored and the buyer never saw it: nobody can pay it, and
    reconciliation finds it by our reference (the mock lists it) or closes the attempt (Stripe
    lists only what was charged)."""
    provider.step("setup")
    killed = provider.step("open", check=False)
    assert killed.returncode == -signal.SIGKILL
    assert provider.state().items() >= {"payments": ["created"], "opened": 1}.items()
    provider.step("age")
    reconciled = provider.manage("reconcile_payments")
    assert "0 need a person" in reconciled.stdout, reconciled.stdout
    after = provider.state()
    assert after["payments"] == (["failed"] if provider.stripe else ["open"])
    assert after.items() >= {"booking": "pending", "tickets": 0, "charged": 0}.items()


def test_a_worker_killed_between_charge_and_confirm_is_settled_by_reconciliation(provider):
    provider.step("setup")
    provider.pay()

    killed = provider.step("webhook", check=False)
    assert killed.returncode == -signal.SIGKILL
    after_crash = provider.state()
    assert after_crash == {
        "booking": "pending",
        "tickets": 0,
        "payments": ["open"],
        "refunds": 0,
        "opened": 1,
        "charged": 1,
        "refunded_at_gateway": 0,
        "confirmed_events": 0,
    }, "the killed confirmation must roll back whole, the attempt stays on record"

    reconciled = provider.manage("reconcile_payments")
    assert "paid at the gateway, not settled here: confirmed" in reconciled.stdout
    settled = {**after_crash, "booking": "confirmed", "tickets": 2, "payments": ["succeeded"]}
    assert provider.state() == {**settled, "confirmed_events": 1}

    # The gateway retries its webhook later, and reconciliation runs again: nothing changes.
    assert json.loads(provider.step("redeliver").stdout)[0] == "already settled"
    again = provider.manage("reconcile_payments")
    assert "0 fixed, 0 need a person" in again.stdout
    assert provider.state() == {**settled, "confirmed_events": 1}


def test_a_refund_whose_process_died_before_the_gateway_is_sent_by_the_sweeper(provider):
    """Killed after the refund was recorded (the seats freed, the money owed) and before the
    gateway was asked: the sweeper sends it once its delay has passed, with the same key."""
    provider.step("setup")
    provider.pay()
    provider.step("confirm")
    killed = provider.step("refund", check=False)
    assert killed.returncode == -signal.SIGKILL
    owed = {"booking": "cancelled", "tickets": 0, "refunds": 1, "refunded_at_gateway": 0}
    assert provider.state().items() >= owed.items()

    provider.manage("sweep_holds", "--once")
    assert provider.state()["refunded_at_gateway"] == 0, "a fresh refund may still be on its way"
    provider.step("age")
    swept = provider.manage("sweep_holds", "--once")
    assert "1 refund(s) sent" in swept.stdout, swept.stdout
    assert provider.state().items() >= {**owed, "refunded_at_gateway": 1}.items()
    provider.step("age")
    provider.manage("sweep_holds", "--once")
    assert provider.state()["refunded_at_gateway"] == 1
