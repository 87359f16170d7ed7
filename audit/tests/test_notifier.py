"""The notifier: one email per event, however often the stream delivers it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail

from audit.models import AuditEvent, Notification
from audit.notifier import GROUP, Notifier
from audit.stream import append
from bookings import services
from conftest import pay

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def paid(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


def test_a_confirmed_booking_gets_one_confirmation_email(paid, notifier, user, settings):
    notifier.run_once()
    (email,) = mail.outbox
    assert email.to == [user.email]
    assert paid.ref in email.subject and "Test Film" in email.subject
    for fact in ("Test Film", "Test Hall", "A3, A4", "£20.00", paid.ref):
        assert fact in email.body
    assert f"{settings.SITE_URL}/bookings/{paid.ref}/" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and f"/bookings/{paid.ref}/" in html
    # Everything read was acknowledged; nothing is left pending.
    assert notifier.redis.xpending("events", GROUP)["pending"] == 0


def test_holds_and_timeouts_send_no_email(showtime, user, notifier):
    services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert notifier.run_once() == 1
    assert mail.outbox == []


def test_a_refund_sends_the_cancellation_email(paid, notifier, user, staff_user):
    services.staff_cancel(booking=paid, actor=staff_user)
    notifier.run_once()
    _confirmation, refund = mail.outbox
    assert refund.to == [user.email]
    assert "£20.00 refunded" in refund.subject
    assert "Our staff cancelled your booking" in refund.body


def test_an_entry_delivered_twice_sends_one_email(paid, notifier):
    confirmed = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_CONFIRMED)
    events = AuditEvent.objects.count()  # paying records a few, one email's worth
    append([confirmed])  # the catch-up and the commit both appended it
    assert notifier.redis.xlen("events") == events + 1
    assert notifier.run_once() == events + 1
    assert len(mail.outbox) == 1
    assert Notification.objects.get().event == confirmed


def test_entries_left_by_a_dead_consumer_are_reclaimed_and_sent_once(paid, redis_db):
    dying = Notifier(consumer="dying", block_ms=1)
    dying.ensure_group()
    # It reads every entry and dies before sending or acknowledging anything.
    events = AuditEvent.objects.count()
    read = redis_db.xreadgroup(GROUP, "dying", {"events": ">"}, count=10)
    assert len(read[0][1]) == events
    assert redis_db.xpending("events", GROUP)["pending"] == events

    survivor = Notifier(consumer="survivor", block_ms=1, min_idle_ms=60_000)
    survivor.run_once()
    assert mail.outbox == []  # not idle long enough yet: the owner may still be working
    survivor.min_idle_ms = 0
    survivor.run_once()
    assert len(mail.outbox) == 1
    assert redis_db.xpending("events", GROUP)["pending"] == 0
    survivor.run_once()
    assert len(mail.outbox) == 1


def test_a_failed_send_leaves_the_entry_pending_for_a_retry(paid, notifier, settings):
    settings.EMAIL_BACKEND = "audit.tests.test_notifier.BrokenBackend"
    with pytest.raises(ConnectionError):
        notifier.run_once()
    assert not Notification.objects.exists()
    assert notifier.redis.xpending("events", GROUP)["pending"] >= 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notifier.min_idle_ms = 0
    notifier.run_once()
    assert len(mail.outbox) == 1


class BrokenBackend:
    """An SMTP server that is down."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("smtp down")


def test_run_notifier_stops_cleanly_on_sigterm(tmp_path, redis_db, settings):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/notifier.sqlite3",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CLUSTER_URL": settings.REDIS_CLUSTER_URL,
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    worker = subprocess.Popen(
        [*manage, "run_notifier", "--consumer", "sigterm-test"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not redis_db.exists("events") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis_db.exists("events"), "the notifier never created its group"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert "stopped" in worker.stderr.read()
    finally:
        worker.kill()
