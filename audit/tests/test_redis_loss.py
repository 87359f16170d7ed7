"""Redis loses the stream (FLUSHALL, a failover, trimming): every email still goes out, once.

The outbox lets go of an event once it is on the stream, so after a wipe only the database knows
an email is owed: an email-causing event with no Notification row.
"""

import threading
import time
from datetime import timedelta
from itertools import count

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisUnreachable

from audit.emails import compose
from audit.models import AuditEvent, Notification, Unpublished
from audit.notifier import GROUP, Notifier
from audit.services import Kind, record
from audit.stream import publish_unpublished
from conftest import redis_unreachable

pytestmark = pytest.mark.django_db(transaction=True)

refs = count(1)


def lost_notifier(name: str = "test-a", **options) -> Notifier:
    """A notifier that looks for lost emails on every pass, giving the stream no head start."""
    options = {"block_ms": 1, "missed_grace": timedelta(0), "missed_every": 0, **options}
    return Notifier(consumer=name, **options)


def _facts(ref: str, email: str) -> dict:
    """What an email about a booking says, as the booking service writes it on the event."""
    return {
        "email": email,
        "movie": "Test Film",
        "auditorium": "Test Hall",
        "starts_at": (timezone.now() + timedelta(days=1)).isoformat(),
        "amount": "10.00",
        "booking_path": f"/bookings/{ref}/",
    }


def confirmed(email: str = "ann@example.com", **detail) -> AuditEvent:
    ref = f"REF{next(refs):05d}"
    return record(
        Kind.BOOKING_CONFIRMED,
        booking_ref=ref,
        seats=["A3", "A4"],
        detail={**_facts(ref, email), **detail},
    )


def refunded(ref: str, email: str = "ann@example.com") -> AuditEvent:
    return record(
        Kind.SEATS_RELEASED,
        booking_ref=ref,
        seats=["A3", "A4"],
        detail={**_facts(ref, email), "reason": "refunded", "refunded": True, "by_staff": True},
    )


def test_a_confirmation_wiped_from_the_stream_is_still_sent_once(redis_db):
    notifier = lost_notifier()
    notifier.ensure_group()  # the notifier was running before the sale
    event = confirmed()
    assert redis_db.xlen("events") == 1 and not Unpublished.objects.exists()

    redis_db.flushdb()
    notifier.run_once()
    notifier.run_once()

    (email,) = mail.outbox
    assert email.to == ["ann@example.com"] and event.booking_ref in email.subject
    assert Notification.objects.get().event == event


def test_replay_events_sends_the_emails_redis_lost(redis_db, capsys):
    event = confirmed()
    redis_db.flushdb()
    call_command("replay_events")
    assert "Sent 1 email(s)" in capsys.readouterr().out
    assert len(mail.outbox) == 1 and event.booking_ref in mail.outbox[0].subject
    call_command("replay_events")
    assert len(mail.outbox) == 1


def test_a_lost_refund_email_is_sent_and_a_lost_hold_sends_nothing(redis_db):
    notifier = lost_notifier()
    booking = confirmed()
    notifier.run_once()
    assert len(mail.outbox) == 1
    record(Kind.HOLD_PLACED, booking_ref="HELD", detail={"email": "bob@example.com"})
    refunded(booking.booking_ref)
    redis_db.flushdb()
    notifier.run_once()
    _confirmation, refund = mail.outbox
    assert "refunded" in refund.subject and booking.booking_ref in refund.subject
    assert Notification.objects.count() == 2


def test_the_notifier_recreates_its_group_in_the_same_pass(redis_db):
    notifier = Notifier(consumer="test-a", block_ms=1)  # the default grace: fresh events wait
    notifier.ensure_group()
    redis_db.flushdb()
    assert notifier.run_once() == 0
    assert redis_db.xinfo_groups("events")[0]["name"] == GROUP
    # A sale after the wipe goes the normal way, through the recreated group.
    confirmed()
    assert notifier.run_once() == 1
    assert len(mail.outbox) == 1


def test_fresh_events_are_left_to_the_stream_for_the_grace_period(redis_db):
    confirmed()
    redis_db.flushdb()
    Notifier(consumer="test-a", block_ms=1).run_once()
    assert mail.outbox == []
    lost_notifier().run_once()
    assert len(mail.outbox) == 1


def test_events_older_than_the_horizon_are_left_to_replay_events(redis_db, capsys):
    event = confirmed()
    redis_db.flushdb()
    lost_notifier(missed_horizon=timedelta(0)).run_once()
    assert mail.outbox == []
    call_command("replay_events", days=1)
    assert "Sent 1 email(s)" in capsys.readouterr().out
    assert Notification.objects.get().event == event


def test_passes_run_twice_and_two_notifiers_send_one_email(redis_db):
    confirmed()
    first, second = lost_notifier("test-a"), lost_notifier("test-b")
    for notifier in (first, second, first, second):
        notifier.run_once()
    redis_db.flushdb()
    for notifier in (second, first, second, first):
        notifier.run_once()
    assert len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_an_email_sent_while_redis_is_down_is_not_sent_again_from_the_stream(redis_db, settings):
    with redis_unreachable(settings):
        event = confirmed()
        assert Unpublished.objects.filter(event=event).exists()
        down = lost_notifier()
        with pytest.raises(RedisUnreachable):  # the outbox catch-up cannot reach Redis...
            down.run_once()
        assert len(mail.outbox) == 1  # ...but the email owed by the database went out first

    notifier = lost_notifier("test-b")
    assert publish_unpublished(grace=timedelta(0)) == 1
    assert notifier.run_once() == 1  # the stream delivers the event late, and it is skipped
    assert len(mail.outbox) == 1
    assert redis_db.xpending("events", GROUP)["pending"] == 0


def test_each_pass_sends_a_bounded_number_of_lost_emails(redis_db):
    for _ in range(3):
        confirmed()
    redis_db.flushdb()
    notifier = lost_notifier(missed_limit=2)
    notifier.run_once()
    assert len(mail.outbox) == 2
    notifier.run_once()
    assert len(mail.outbox) == 3
    notifier.run_once()
    assert len(mail.outbox) == 3


def test_an_email_that_cannot_be_written_does_not_hold_up_the_others(redis_db):
    confirmed(starts_at="not a date")
    good = confirmed()
    redis_db.flushdb()
    lost_notifier().run_once()
    (email,) = mail.outbox
    assert good.booking_ref in email.subject


def test_the_lost_email_query_matches_the_events_that_send_an_email(redis_db):
    events = [
        confirmed(),
        confirmed(email=""),
        record(Kind.BOOKING_CONFIRMED, booking_ref="NOMAIL", detail={"movie": "Test Film"}),
        record(Kind.HOLD_PLACED, booking_ref="HELD", detail={"email": "ann@example.com"}),
        record(Kind.SEATS_RELEASED, booking_ref="FREED", detail={"email": "ann@example.com"}),
        record(
            Kind.SEATS_RELEASED,
            booking_ref="KEPT",
            detail={"email": "ann@example.com", "refunded": False},
        ),
        record(
            Kind.SEATS_RELEASED,
            booking_ref="REFUNDED",
            detail={"email": "ann@example.com", "refunded": True, "amount": "10.00"},
        ),
        record(Kind.TICKETS_PASSED_ON, booking_ref="GIVEN", detail={"email": "dee@example.com"}),
        record(Kind.TRANSFER_CLAIMED, booking_ref="GIVEN", detail={"email": "dee@example.com"}),
        record(Kind.TRANSFER_CANCELLED, booking_ref="TAKEN", detail={"email": "dee@example.com"}),
        # A device added at checkout: the confirmation will say it.
        record(Kind.DEVICE_ADDED, booking_ref="HELD", detail={"device": "captions"}),
        record(
            Kind.DEVICE_REMOVED,
            booking_ref="PAID",
            detail={"email": "ann@example.com", "device": "captions", "movie": "Test Film"},
        ),
    ]
    emailing = {event.pk for event in events if compose(event.as_message()) is not None}
    assert len(emailing) == 5
    assert set(AuditEvent.objects.emailing().values_list("pk", flat=True)) == emailing


class SlowBackend(EmailBackend):
    """An SMTP server that takes its time, so two notifiers overlap on the same event."""

    def send_messages(self, messages):
        time.sleep(0.5)
        return super().send_messages(messages)


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="concurrent writers need PostgreSQL",
)
def test_two_notifiers_at_once_send_one_email(redis_db, settings):
    settings.EMAIL_BACKEND = "audit.tests.test_redis_loss.SlowBackend"
    confirmed()
    redis_db.flushdb()
    start, sent = threading.Barrier(2), {}

    def sweep(name):
        try:
            start.wait()
            sent[name] = lost_notifier(name).send_missed()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("test-a", "test-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(sent.values()) == [0, 1]
    assert len(mail.outbox) == 1
