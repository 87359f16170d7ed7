"""A web process killed between the gateway's charge and our confirmation loses nothing.

Finding 1 of the payments issue: `kill -9` after the gateway charged and before the commit left
a charge with no payment row, no refund and no audit event. Now the attempt is a committed row
before the gateway is asked, so the killed confirmation rolls back whole and reconciliation (or
the gateway's retry of its webhook) settles it, once.
"""

import json
import signal
from pathlib import Path

from tests.crashes import crash_env, run

WORKER = Path(__file__).with_name("crashing_worker.py")


def _state(env) -> dict:
    return json.loads(run(env, str(WORKER), "state").stdout)


def test_a_worker_killed_between_charge_and_confirm_is_settled_by_reconciliation(
    tmp_path, redis_db, settings
):
    env = crash_env(tmp_path, settings.REDIS_URL)
    run(env, str(WORKER), "setup")

    killed = run(env, str(WORKER), "webhook", check=False)
    assert killed.returncode == -signal.SIGKILL
    after_crash = _state(env)
    assert after_crash == {
        "booking": "pending",
        "tickets": 0,
        "payments": ["open"],
        "refunds": 0,
        "charged": 1,
        "refunded_at_gateway": 0,
        "confirmed_events": 0,
    }, "the killed confirmation must roll back whole, the attempt stays on record"

    reconciled = run(env, "manage.py", "reconcile_payments")
    assert "paid at the gateway, not settled here: confirmed" in reconciled.stdout
    settled = {**after_crash, "booking": "confirmed", "tickets": 2, "payments": ["succeeded"]}
    assert _state(env) == {**settled, "confirmed_events": 1}

    # The gateway retries its webhook later, and reconciliation runs again: nothing changes.
    assert json.loads(run(env, str(WORKER), "redeliver").stdout)[0] == "already settled"
    again = run(env, "manage.py", "reconcile_payments")
    assert "0 fixed, 0 need a person" in again.stdout
    assert _state(env) == {**settled, "confirmed_events": 1}


def test_a_refund_whose_process_died_before_the_gateway_is_sent_by_the_sweeper(
    tmp_path, redis_db, settings
):
    """Killed after the refund was recorded (the seats freed, the money owed) and before the
    gateway was asked: the sweeper sends it once its delay has passed, with the same key."""
    env = crash_env(tmp_path, settings.REDIS_URL)
    for step in ("setup", "confirm"):
        run(env, str(WORKER), step)
    killed = run(env, str(WORKER), "refund", check=False)
    assert killed.returncode == -signal.SIGKILL
    owed = {"booking": "cancelled", "tickets": 0, "refunds": 1, "refunded_at_gateway": 0}
    assert _state(env).items() >= owed.items()

    run(env, "manage.py", "sweep_holds", "--once")
    assert _state(env)["refunded_at_gateway"] == 0, "a fresh refund may still be on its way"
    run(env, str(WORKER), "age")
    swept = run(env, "manage.py", "sweep_holds", "--once")
    assert "1 refund(s) sent" in swept.stdout, swept.stdout
    assert _state(env).items() >= {**owed, "refunded_at_gateway": 1}.items()
    run(env, str(WORKER), "age")
    run(env, "manage.py", "sweep_holds", "--once")
    assert _state(env)["refunded_at_gateway"] == 1
