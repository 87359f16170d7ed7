"""Delivering webhooks to a real receiver over HTTP: once per delivery id whatever the receiver
or the stream does, in order per booking, signed, retried with backoff for a day, sent again on
demand, and never held up by another receiver."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.stream import append
from bookings import services
from conftest import pay, verified_user
from payments.gateway import BadSignature
from payments.signing import verify
from webhooks.fanout import fan_out_missed
from webhooks.models import Attempt, Delivery, EventType
from webhooks.sending import BACKOFF, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, send_due
from webhooks.services import send_again
from webhooks.tests.conftest import SECRET, endpoint_for, made, send_all
from webhooks.tests.receiver import Receiver, hanging_address

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]

CONFIRMED, REFUNDED, CANCELLED = (
    EventType.BOOKING_CONFIRMED,
    EventType.BOOKING_REFUNDED,
    EventType.BOOKING_CANCELLED,
)


@pytest.fixture
def paid(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


def test_an_endpoint_down_then_up_gets_each_event_once_in_order_per_booking(
    paid, staff_user, receiver, worker
):
    endpoint_for(receiver.url)
    receiver.down()
    services.staff_cancel(booking=paid, actor=staff_user)
    worker.read()
    assert made() == [CONFIRMED, REFUNDED, CANCELLED]

    now = timezone.now()
    assert send_due(now=now) == 0  # nobody listens on the port
    receiver.up(answer=503)
    now = Delivery.objects.get(type=CONFIRMED).next_attempt_at
    assert send_due(now=now) == 0  # it answers, with an error
    receiver.up()
    now = Delivery.objects.get(type=CONFIRMED).next_attempt_at
    assert send_all(now=now) == 3

    # The stream brings every event again, and the database look finds them all: nothing new.
    append(AuditEvent.objects.order_by("id"))
    worker.read()
    assert fan_out_missed(endpoints=worker.endpoints, grace=timedelta(0), limit=100) == 0
    assert send_all(now=now + timedelta(hours=1)) == 0

    ids = [payload["id"] for payload in receiver.accepted]
    assert len(set(ids)) == len(ids) == 3
    assert [payload["type"] for payload in receiver.accepted] == [CONFIRMED, REFUNDED, CANCELLED]
    assert {payload["data"]["booking"] for payload in receiver.accepted} == {paid.ref}
    assert sorted(ids) == sorted(
        str(uid) for uid in Delivery.objects.values_list("uuid", flat=True)
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
    confirmed = Delivery.objects.get(type=CONFIRMED)
    log = list(confirmed.attempt_log.values_list("status_code", flat=True))
    assert log == [None, 503, 200] and confirmed.attempts == 3
    assert "refused" in confirmed.attempt_log.first().error.lower()


def test_a_receiver_verifies_the_signature_and_a_wrong_secret_fails(paid, receiver, worker):
    endpoint_for(receiver.url, types=[CONFIRMED])
    worker.read()
    send_all()
    (got,) = receiver.got
    payload = got.payload
    assert got.answered == 200
    assert got.headers[DELIVERY_HEADER] == payload["id"]
    assert got.headers[EVENT_HEADER] == payload["type"] == CONFIRMED
    assert got.headers["Content-Type"] == "application/json"
    verify(
        payload=got.body, header=got.headers[SIGNATURE_HEADER], secret=SECRET, tolerance_seconds=5
    )
    for forged in (b" " + got.body, got.body.replace(b"A3", b"B3")):
        with pytest.raises(BadSignature):
            verify(
                payload=forged,
                header=got.headers[SIGNATURE_HEADER],
                secret=SECRET,
                tolerance_seconds=5,
            )
    assert payload["data"] == {
        "booking": paid.ref,
        "showtime": paid.showtime_id,
        "seats": ["A3", "A4"],
        "movie": "Test Film",
        "auditorium": "Test Hall",
        "starts_at": paid.showtime.starts_at.isoformat(),
        "status": "confirmed",
        "amount": "20.00",
        "currency": "GBP",
    }
    assert (
        payload["created"]
        == AuditEvent.objects.get(kind="booking_confirmed").occurred_at.isoformat()
    )

    # The few lines the README gives receivers agree.
    verified = readme_verifier()
    assert verified(got.body, got.headers[SIGNATURE_HEADER], SECRET)
    assert not verified(got.body, got.headers[SIGNATURE_HEADER], "whsec_another")
    assert not verified(b" " + got.body, got.headers[SIGNATURE_HEADER], SECRET)
    assert not verified(got.body, "t=1,v1=" + got.headers[SIGNATURE_HEADER][-64:], SECRET)
    assert not verified(got.body, "t=\N{SUPERSCRIPT TWO},v1=", SECRET)

    # A receiver that holds another secret refuses the delivery; it stays owed.
    receiver.secret = "whsec_someone-elses-secret"
    Delivery.objects.update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now())
    assert send_all() == 0
    assert receiver.got[-1].answered == 400
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def readme_verifier():
    """`verified` as the README's "Webhooks" gives it to receivers."""
    readme = (ROOT / "README.md").read_text()
    code = readme[readme.index("```python\nimport hashlib") + len("```python\n") :]
    namespace = {}
    exec(code[: code.index("```")], namespace)  # noqa: S102 (our own README)
    return namespace["verified"]


def test_failures_back_off_and_give_up_a_day_after(paid, receiver, worker, settings):
    receiver.up(answer=500)
    endpoint_for(receiver.url, types=[CONFIRMED])
    worker.read()
    delivery = Delivery.objects.get()
    now, waits = delivery.next_attempt_at, []
    while delivery.status == Delivery.Status.PENDING:
        assert send_due(now=now) == 0
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.PENDING:
            waits.append(delivery.next_attempt_at - now)
            now = delivery.next_attempt_at
    assert waits[: len(BACKOFF)] == list(BACKOFF)
    assert set(waits[len(BACKOFF) :]) <= {BACKOFF[-1]}
    assert delivery.status == Delivery.Status.FAILED
    attempts = list(delivery.attempt_log.all())
    assert delivery.attempts == len(attempts) == len(waits) + 1 == len(receiver.got)
    give_up_at = delivery.queued_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    assert attempts[-1].at <= give_up_at < attempts[-1].at + BACKOFF[-1]
    assert {attempt.status_code for attempt in attempts} == {500}
    assert attempts[0].response == "ok"


def test_send_again_sends_the_same_delivery_id_and_is_audited(
    paid, receiver, worker, settings, staff_user
):
    settings.WEBHOOK_RETRY_HOURS = 0.01  # 36 s: two attempts
    receiver.up(answer=503)
    endpoint_for(receiver.url, types=[CONFIRMED])
    worker.read()
    delivery = Delivery.objects.get()
    send_due()
    send_due(now=timezone.now() + timedelta(seconds=11))
    send_due(now=timezone.now() + timedelta(seconds=45))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2

    receiver.up()
    assert send_again(deliveries=Delivery.objects.all(), actor=staff_user) == 1
    assert send_all() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 3
    assert {each.payload["id"] for each in receiver.got} == {str(delivery.uuid)}
    audited = AuditEvent.objects.get(kind=AuditEvent.Kind.WEBHOOK_SENT_AGAIN)
    assert audited.actor == staff_user and audited.booking_ref == paid.ref
    assert audited.detail["delivery"] == str(delivery.uuid) and audited.detail["was"] == "failed"

    # A delivered one may be sent again too (a receiver that lost it): the same id once more.
    send_again(deliveries=Delivery.objects.all(), actor=staff_user)
    send_all()
    assert [each.payload["id"] for each in receiver.got[-2:]] == [str(delivery.uuid)] * 2


def test_what_the_stream_lost_is_delivered_from_the_database(
    paid, staff_user, receiver, worker, redis_db
):
    endpoint = endpoint_for(receiver.url)
    services.staff_cancel(booking=paid, actor=staff_user)
    redis_db.flushdb()  # a failover to a replica that never had the stream
    assert worker.read() == 0
    assert made() == []
    # The stream gets the grace to bring them first.
    assert fan_out_missed(endpoints=[endpoint], grace=timedelta(minutes=2), limit=100) == 0
    later = timezone.now() + timedelta(minutes=3)
    assert (
        fan_out_missed(endpoints=[endpoint], grace=timedelta(minutes=2), limit=100, now=later) == 3
    )
    assert send_all() == 3
    assert [payload["type"] for payload in receiver.accepted] == [CONFIRMED, REFUNDED, CANCELLED]
    # The look goes on from where it stopped: it finds nothing twice.
    assert fan_out_missed(endpoints=[endpoint], grace=timedelta(0), limit=100, now=later) == 0


def test_a_booking_event_brought_before_an_earlier_one_still_goes_out_second(
    paid, staff_user, receiver, worker, redis_db
):
    endpoint_for(receiver.url)
    services.staff_cancel(booking=paid, actor=staff_user)
    redis_db.flushdb()
    # Only the refund is on the stream: the confirmation's append failed and is in the outbox.
    refund = AuditEvent.objects.get(kind="seats_released", booking_ref=paid.ref)
    append([refund])
    assert worker.read() == 1
    assert made() == [CONFIRMED, REFUNDED, CANCELLED]
    send_all()
    assert [payload["type"] for payload in receiver.accepted] == [CONFIRMED, REFUNDED, CANCELLED]


def test_a_receiver_that_never_answers_delays_the_others_by_one_timeout(
    showtime, user, bob, receiver, worker, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    first = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    second = pay(services.hold_seats(user=bob, showtime=showtime, labels=["B3"]))
    with hanging_address() as address:
        dead = endpoint_for(address, types=[CONFIRMED])
        alive = endpoint_for(receiver.url, types=[CONFIRMED])
        worker.read()
        started = time.monotonic()
        assert send_due() == 2
        took = time.monotonic() - started
    assert 0.5 <= took < 1.5
    assert {payload["data"]["booking"] for payload in receiver.accepted} == {first.ref, second.ref}
    assert not alive.deliveries.exclude(status=Delivery.Status.DELIVERED).exists()
    (attempt,) = Attempt.objects.filter(delivery__endpoint=dead)
    assert attempt.status_code is None and attempt.error == "no answer within 0.5 s"
    # Its other delivery waits with the one that failed: the dead receiver is tried at one pace.
    waiting = set(dead.deliveries.values_list("next_attempt_at", flat=True))
    assert len(waiting) == 1 and waiting.pop() > timezone.now()


def test_a_receiver_answering_errors_takes_one_attempt_a_pass_from_the_others(
    showtime, receiver, worker
):
    failing = Receiver(secret=SECRET)
    failing.up(answer=500)
    try:
        broken = endpoint_for(failing.url, types=[CONFIRMED])
        for n, seat in enumerate(["A1", "A2", "A3"]):
            pay(
                services.hold_seats(
                    user=verified_user(f"early{n}"), showtime=showtime, labels=[seat]
                )
            )
        alive = endpoint_for(receiver.url, types=[CONFIRMED], created_at=timezone.now())
        last = pay(
            services.hold_seats(user=verified_user("late"), showtime=showtime, labels=["B1"])
        )
        worker.read()
        assert broken.deliveries.count() == 4 and alive.deliveries.count() == 1
        assert send_due(limit=2) == 1
    finally:
        failing.down()
    assert len(failing.got) == 1
    assert [payload["data"]["booking"] for payload in receiver.accepted] == [last.ref]


def test_run_webhooks_beats_and_stops_cleanly_on_sigterm(tmp_path, redis_db, settings):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/webhooks.sqlite3",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CLUSTER_URL": settings.REDIS_CLUSTER_URL,
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    worker = subprocess.Popen(
        [*manage, "run_webhooks", "--consumer", "sigterm-test"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not redis_db.exists("heartbeat:{workers}:webhooks") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis_db.exists("heartbeat:{workers}:webhooks"), "no heartbeat from the worker"
        groups = {group["name"] for group in redis_db.xinfo_groups("events")}
        assert "webhooks" in groups
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert "stopped" in worker.stderr.read()
    finally:
        worker.kill()


def test_a_name_that_resolves_inside_the_network_is_refused_at_each_attempt(
    paid, receiver, worker, settings
):
    """A URL saved with a name, which resolves to this machine: each attempt is refused before
    any connection, logged, and tried again later; the receiver hears nothing."""
    endpoint_for(receiver.url.replace("127.0.0.1", "localhost"), types=[CONFIRMED])
    worker.read()
    settings.WEBHOOK_PRIVATE_ADDRESSES = False
    assert send_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert "private or local address" in delivery.attempt_log.get().error
    assert receiver.accepted == []
    settings.WEBHOOK_PRIVATE_ADDRESSES = True  # the cinema's own network, allowed
    assert send_all(now=delivery.next_attempt_at) == 1
    assert len(receiver.accepted) == 1
