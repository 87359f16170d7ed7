"""A web process killed (`kill -9`) at any step of an exchange leaves the customer either the old
booking or the new one, and, once the sweeper and reconciliation have run, money that matches:
what the gateway charged less what it gave back is what the standing tickets are worth, and no
seat is held or sold that no ticket owns. Each step runs in a process of its own
(exchanging_worker.py), the way test_payment_crashes.py kills a payment."""

import json
import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.crashes import crash_env, run
from tests.postgres import postgres_database

WORKER = Path(__file__).with_name("exchanging_worker.py")
PAID = {"same": ["A3", "A4"], "cheaper": [], "dearer": []}


class Worker:
    def __init__(self, env: dict):
        self.env = env

    def step(self, name: str, target: str = "same", *, check: bool = True, **env: str):
        return run({**self.env, **env}, str(WORKER), name, target, check=check)

    def killed(self, name: str, target: str, **env: str) -> None:
        assert self.step(name, target, check=False, **env).returncode == -signal.SIGKILL

    def state(self) -> dict:
        return json.loads(self.step("state").stdout)

    def manage(self, *args: str) -> str:
        return run(self.env, "manage.py", *args).stdout

    def recover(self) -> dict:
        """Every delay passed, then the sweeper and reconciliation: the state they leave."""
        self.step("age")
        self.manage("sweep_holds", "--once")
        self.manage("reconcile_payments")
        self.manage("sweep_holds", "--once")
        return self.state()


@pytest.fixture
def worker(tmp_path, redis_db, settings):
    with ExitStack() as stack:
        extra = {}
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            # A database of the test's own: the test run's is held by pytest-django.
            database = postgres_database(os.environ["DATABASE_URL"], prefix="crash")
            extra["DATABASE_URL"] = stack.enter_context(database)
        worker = Worker(crash_env(tmp_path, settings.REDIS_URL, **extra))
        worker.step("setup")
        yield worker


def assert_money_matches(state: dict) -> None:
    charged, refunded = (float(state[key]) for key in ("charged", "refunded"))
    assert charged - refunded == float(state["tickets_worth"]), state
    assert state["refunds_owed"] == 0, state
    for showtime, seats in state["in_redis"].items():
        assert set(seats) <= set(state["tickets"][showtime]), f"{showtime}: {state}"


def assert_old_booking_stands(state: dict) -> None:
    assert state["bookings"]["paid"] == "confirmed"
    assert state["tickets"] == {"same": ["A3", "A4"], "cheaper": [], "dearer": []}
    assert_money_matches(state)


def assert_exchanged(state: dict, target: str) -> None:
    assert state["bookings"] == {"paid": "exchanged", "exchange": "confirmed"}
    assert state["tickets"] == {**PAID, "same": [], target: ["B3", "B4"]} | (
        {"same": ["B3", "B4"]} if target == "same" else {}
    )
    assert_money_matches(state)


def test_killed_once_the_new_seats_are_held_in_redis_leaves_the_old_booking(worker):
    """No booking owns the new hold: it lapses by itself (a hold of a few seconds here)."""
    worker.killed("hold", "same", HOLD_TTL_SECONDS="6")
    killed_at = time.monotonic()
    state = worker.state()
    assert "exchange" not in state["bookings"]
    assert state["in_redis"]["same"] == ["B3", "B4"]
    time.sleep(max(0, 6.5 - (time.monotonic() - killed_at)))
    assert_old_booking_stands(worker.recover())


@pytest.mark.parametrize("target", ["same", "cheaper", "dearer"])
def test_an_exchange_held_and_never_confirmed_expires_and_leaves_the_old_booking(worker, target):
    worker.step("held", target)
    assert worker.state()["bookings"] == {"paid": "confirmed", "exchange": "pending"}
    after = worker.recover()
    assert after["bookings"] == {"paid": "confirmed", "exchange": "expired"}
    assert_old_booking_stands(after)


@pytest.mark.parametrize("target", ["same", "cheaper"])
def test_killed_while_writing_the_exchange_rolls_back_whole(worker, target):
    worker.killed("confirm", target)
    state = worker.state()
    assert state["bookings"] == {"paid": "confirmed", "exchange": "pending"}
    assert state["payments"] == ["succeeded"] and state["refunds_owed"] == 0
    assert state["tickets"] == {"same": ["A3", "A4"], "cheaper": [], "dearer": []}
    assert state["in_redis"][target] == ["B3", "B4"], "the exchange's hold, until it expires"
    assert_old_booking_stands(worker.recover())


def test_killed_before_the_difference_is_sent_back_the_sweeper_sends_it(worker):
    worker.killed("refund", "cheaper")
    state = worker.state()
    assert state["bookings"] == {"paid": "exchanged", "exchange": "confirmed"}
    assert (state["refunds_owed"], state["refunded"]) == (1, "0.00")
    after = worker.recover()
    assert after["refunded"] == "4.00"
    assert_exchanged(after, "cheaper")


def test_killed_before_the_gateway_opened_its_page_charges_nothing(worker):
    worker.killed("start", "dearer")
    state = worker.state()
    assert state["payments"] == ["created", "succeeded"]
    after = worker.recover()
    assert after["payments"] == ["failed", "succeeded"]
    assert after["bookings"] == {"paid": "confirmed", "exchange": "expired"}
    assert_old_booking_stands(after)


def test_killed_after_the_charge_and_before_the_exchange_reconciliation_completes_it(worker):
    worker.killed("webhook", "dearer")
    state = worker.state()
    assert state["bookings"] == {"paid": "confirmed", "exchange": "pending"}
    assert (state["charged"], state["tickets_worth"]) == ("25.00", "20.00")
    after = worker.recover()
    assert after["payments"] == ["succeeded", "succeeded"]
    assert_exchanged(after, "dearer")
