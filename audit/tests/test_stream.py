"""Events reach the Redis Stream only after commit, and none is lost when Redis is down then."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent, Unpublished
from audit.services import Kind, record
from audit.stream import publish_unpublished
from bookings import services
from bookings.models import Booking
from conftest import redis_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def _stream(redis_db) -> list[dict]:
    return [json.loads(fields["event"]) for _id, fields in redis_db.xrange("events")]


def test_the_stream_append_waits_for_commit(redis_db):
    with transaction.atomic():
        event = record(Kind.SYSTEM_ERROR, detail={"where": "test"})
        assert AuditEvent.objects.filter(pk=event.pk).exists()
        assert redis_db.xlen("events") == 0
    assert [entry["id"] for entry in _stream(redis_db)] == [event.pk]
    assert not Unpublished.objects.exists()


def test_a_rolled_back_change_leaves_no_event_anywhere(redis_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Kind.SYSTEM_ERROR)
        raise RuntimeError("the change fails")
    assert not AuditEvent.objects.exists()
    assert redis_db.xlen("events") == 0


def test_the_stream_entry_carries_the_event_as_plain_data(showtime, user, redis_db):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    (entry,) = _stream(redis_db)
    assert entry["kind"] == Kind.HOLD_PLACED
    assert (entry["booking_ref"], entry["seats"], entry["actor_id"]) == (
        booking.ref,
        ["A3"],
        user.pk,
    )


def test_events_committed_while_redis_is_down_are_published_later(
    showtime, user, redis_db, settings
):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    with redis_unreachable(settings):
        # The sweeper times the hold out while Redis is unreachable: the expiry still commits.
        expired = services.expire_stale_bookings(now=timezone.now() + timedelta(minutes=10))
    assert [b.ref for b in expired] == [booking.ref]
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.EXPIRED
    event = AuditEvent.objects.get(kind=Kind.HOLD_EXPIRED)
    assert Unpublished.objects.filter(event=event).exists()

    assert publish_unpublished(grace=timedelta(0)) == 1
    assert [entry["kind"] for entry in _stream(redis_db)] == [Kind.HOLD_PLACED, Kind.HOLD_EXPIRED]
    assert not Unpublished.objects.exists()
    assert publish_unpublished(grace=timedelta(0)) == 0


def test_the_catch_up_leaves_fresh_events_to_their_own_commit(redis_db, settings):
    with redis_unreachable(settings):
        record(Kind.SYSTEM_ERROR)
    assert publish_unpublished() == 0
    assert publish_unpublished(grace=timedelta(0)) == 1


def test_replay_events_publishes_whatever_the_stream_missed(redis_db, settings, capsys):
    with redis_unreachable(settings):
        first, second = record(Kind.SYSTEM_ERROR), record(Kind.SYSTEM_ERROR)
    call_command("replay_events")
    assert "Published 2 of 2" in capsys.readouterr().out
    assert [entry["id"] for entry in _stream(redis_db)] == [first.pk, second.pk]


def test_the_stream_is_trimmed(redis_db, settings):
    settings.EVENT_STREAM_MAXLEN = 10
    for _ in range(300):
        record(Kind.SYSTEM_ERROR)
    assert AuditEvent.objects.count() == 300
    # MAXLEN ~ trims whole macro nodes: about the bound, far below what was appended.
    assert redis_db.xlen("events") < 300


def test_an_event_whose_process_stopped_before_the_append_is_published_later(redis_db):
    # Committed, then the process died before its after-commit append: no outbox row either.
    event = AuditEvent.objects.create(kind=Kind.SYSTEM_ERROR, detail={"where": "killed"})
    assert not Unpublished.objects.exists() and redis_db.xlen("events") == 0
    assert publish_unpublished() == 0  # left to its own append for the grace period
    assert publish_unpublished(grace=timedelta(0)) == 1
    assert [entry["id"] for entry in _stream(redis_db)] == [event.pk]
    assert publish_unpublished(grace=timedelta(0)) == 0


def test_a_request_writes_no_outbox_row_when_the_stream_takes_the_event(redis_db):
    with transaction.atomic():
        record(Kind.SYSTEM_ERROR)
    assert not Unpublished.objects.exists()
    assert publish_unpublished(grace=timedelta(0)) == 0
    assert redis_db.xlen("events") == 1
