"""A showtime with its waiting room on: queue, admission token, the hold refused without it."""

import contextlib
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from django.core import signing
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from bookings import services as bookings
from bookings.errors import WaitingRoomRequired
from bookings.models import Booking
from cinema.services import schedule_showtime
from conftest import open_waiting_room, pay, redis_unreachable, room_of, verified_user
from waitingroom import queue, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(showtime):
    return open_waiting_room(showtime)


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _hold(client, showtime, *labels):
    return client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": list(labels)})


def _queue(client, showtime):
    return client.get(f"/showtimes/{showtime.pk}/queue/")


def test_without_being_let_in_the_hold_is_refused_with_a_link_to_the_queue(room, user):
    buyer = _client(user)
    response = _hold(buyer, room, "A3")
    assert response.status_code == 403
    assert "sold through a waiting room" in response.text
    assert f'href="/showtimes/{room.pk}/queue/"' in response.text
    assert not Booking.objects.exists()


def test_the_hold_service_itself_refuses_a_shopper_the_room_has_not_let_in(room, user):
    """Any caller of the hold service (a page, the API, a command) meets the queue: it is the
    service that checks the admission, not a view."""
    with pytest.raises(WaitingRoomRequired):
        bookings.hold_seats(user=user, showtime=room, labels=["A3"])
    with pytest.raises(WaitingRoomRequired):
        bookings.hold_seats(user=user, showtime=room, labels=["A3"], admission="forged")
    assert not Booking.objects.exists()
    entry = services.enter(showtime=room, member=f"u{user.pk}", token="", arrived_ms=None)
    services.admit_pass()
    admitted = services.enter(
        showtime=room, member=f"u{user.pk}", token=entry.cookie, arrived_ms=None
    )
    booking = bookings.hold_seats(
        user=user, showtime=room, labels=["A3"], admission=admitted.cookie
    )
    assert booking.status == Booking.Status.PENDING


def test_queue_then_let_in_then_hold(room, user):
    buyer = _client(user)
    page = _queue(buyer, room)
    assert page.status_code == 200 and "0</strong> people are ahead of you" in page.text
    assert services.admit_pass() == 1
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.WAITING_ROOM_ADMITTED)
    assert event.detail["members"] == [f"u{user.pk}"]
    turn = _queue(buyer, room)
    assert "It is your turn." in turn.text
    assert buyer.cookies[services.cookie_name(room.pk)].value
    assert _hold(buyer, room, "A3").status_code == 303


def test_a_token_works_only_for_its_account_and_showtime_and_until_it_expires(
    room, user, bob, movie, auditorium
):
    buyer = _client(user)
    _queue(buyer, room)
    services.admit_pass()
    _queue(buyer, room)
    token = buyer.cookies[services.cookie_name(room.pk)].value
    # Another account with the same cookie.
    other = _client(bob)
    other.cookies[services.cookie_name(room.pk)] = token
    assert _hold(other, room, "A4").status_code == 403
    # A forged token.
    forged = _client(user)
    forged.cookies[services.cookie_name(room.pk)] = signing.dumps(
        {"s": room.pk, "m": f"u{user.pk}", "d": queue.now_ms() + 60_000}, salt="another"
    )
    assert _hold(forged, room, "A4").status_code == 403
    # For another showtime with its room on.
    second = schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=room.starts_at + timedelta(hours=3),
        price_list=room.price_list,
    )
    open_waiting_room(second)
    elsewhere = _client(user)
    elsewhere.cookies[services.cookie_name(second.pk)] = token
    assert _hold(elsewhere, second, "A4").status_code == 403
    # Past its deadline (the slot is gone too).
    expired = signing.dumps(
        {"s": room.pk, "m": f"u{user.pk}", "d": queue.now_ms() - 1}, salt=services.SALT
    )
    late = _client(user)
    late.cookies[services.cookie_name(room.pk)] = expired
    assert _hold(late, room, "A4").status_code == 403
    assert _hold(buyer, room, "A4").status_code == 303


def test_buying_frees_the_slot_for_the_next_in_line(
    room, user, bob, django_capture_on_commit_callbacks
):
    buyer, next_in_line = _client(user), _client(bob)
    open_waiting_room(room, max_active=1)
    _queue(buyer, room)
    _queue(next_in_line, room)
    assert services.admit_pass() == 1
    _queue(buyer, room)
    _hold(buyer, room, "A3")
    with django_capture_on_commit_callbacks(execute=True):
        pay(Booking.objects.get(user=user))
    assert queue.place(showtime_id=room.pk, member=f"u{user.pk}") is None
    assert services.admit_pass() == 1
    assert "It is your turn." in _queue(next_in_line, room).text


def test_a_place_belongs_to_a_person_anonymous_visits_take_none(room, user, bob):
    """Thirty cookie-less visits from one address took thirty places, ahead of the customer who
    came first. Now a visitor sees the queue and signs in to take their one place."""
    _queue(_client(bob), room)
    for _ in range(30):
        page = _queue(_client(), room)
    assert page.status_code == 200
    assert "Sign in to take your place" in page.text
    assert "1</strong> person is waiting" in page.text
    assert 'ws-connect="' not in page.text  # nothing of theirs to follow live
    assert queue.sizes(showtime_id=room.pk) == (1, 0)
    visitor = _client(user)
    assert "1</strong> person is ahead of you" in _queue(visitor, room).text
    assert "1</strong> person is ahead of you" in _queue(visitor, room).text  # the same one
    assert queue.sizes(showtime_id=room.pk) == (2, 0)


def test_an_account_whose_address_is_not_confirmed_takes_no_place(room, django_user_model):
    fresh = django_user_model.objects.create_user("new", "new@example.com", "correct-horse-9")
    page = _queue(_client(fresh), room)
    assert "Confirm your email address to take your place" in page.text
    assert queue.sizes(showtime_id=room.pk) == (0, 0)


def test_before_the_on_sale_time_nothing_is_held(showtime, user):
    showtime.on_sale_at = timezone.now() + timedelta(hours=1)
    showtime.save(update_fields=["on_sale_at"])
    response = _hold(_client(user), showtime, "A3")
    assert response.status_code == 409 and "Tickets go on sale on" in response.text


def test_with_redis_down_nobody_is_let_in_and_the_page_says_so(room, user, settings):
    buyer = _client(user)
    with redis_unreachable(settings):
        page = _queue(buyer, room)
        assert page.status_code == 503 and "cannot let anyone in right now" in page.text
        # Holding needs Redis too: the site's outage page (503), and nothing held.
        buyer.raise_request_exception = False
        assert _hold(buyer, room, "A3").status_code == 503
    assert not Booking.objects.exists()


def test_a_room_that_is_off_changes_nothing(showtime, user):
    assert _queue(_client(user), showtime).status_code == 302
    assert bookings.hold_seats(user=user, showtime=showtime, labels=["A3"]).status == "pending"


def test_ops_turn_the_room_on_pause_it_and_change_its_pace(showtime, user):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("waiting_room", "on", str(showtime.pk), "--max-active", "1", stdout=out)
    assert "waiting room on; 0 queued, 0 shopping (at most 1)" in out.getvalue()
    _queue(_client(user), showtime)
    call_command("waiting_room", "pause", str(showtime.pk), stdout=StringIO())
    assert services.admit_pass() == 0  # paused: the queue keeps its order, nobody new comes in
    call_command("waiting_room", "resume", str(showtime.pk), "--rate", "30", stdout=StringIO())
    assert services.admit_pass() == 1
    assert (room_of(showtime).paused, room_of(showtime).admit_per_minute) == (False, 30)
    changes = AuditEvent.objects.filter(kind=AuditEvent.Kind.WAITING_ROOM_CHANGED)
    assert [event.detail["action"] for event in changes.order_by("id")] == ["on", "pause", "resume"]
    for bad in (["on", "x"], ["on", "999999"], ["on", str(showtime.pk), "--rate", "0"]):
        with pytest.raises(CommandError):
            call_command("waiting_room", *bad, stdout=StringIO())


NO_DISK = ("--save", "", "--appendonly", "no")


class RedisServer:
    """A Redis of this test's own, with nothing on disk: stopping it loses everything, as a
    restart of the production Redis (which keeps nothing on disk) would."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), *NO_DISK],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def own_redis(settings):
    if settings.REDIS_CLUSTER_URL:
        pytest.skip("restarts a plain Redis of its own; a cluster's failover is tests/scale's")
    server = RedisServer()
    server.start()
    settings.REDIS_URL = server.url
    yield server
    server.stop()


def test_a_redis_restart_costs_no_one_their_place(room, user, bob, own_redis):
    carol = verified_user("carol")
    open_waiting_room(room, max_active=1)
    shopper, second, third = _client(user), _client(bob), _client(carol)
    for client in (shopper, second, third):
        _queue(client, room)
    assert services.admit_pass() == 1
    _queue(shopper, room)  # their pass

    own_redis.stop()
    page = _queue(second, room)
    assert page.status_code == 503 and "cannot let anyone in right now" in page.text
    with pytest.raises(redis.RedisError):
        services.admit_pass()  # the worker's pass fails: nobody is let in
    own_redis.start()  # empty

    assert "0</strong> people are ahead" in _queue(third, room).text  # back first
    assert "0</strong> people are ahead" in _queue(second, room).text  # and in front again
    assert "1</strong> person is ahead" in _queue(third, room).text
    assert "2</strong> people are ahead" in _queue(_client(verified_user("dan")), room).text
    # The shopper's slot comes back with their next visit to the queue, and the seats are theirs.
    assert _hold(shopper, room, "A3").status_code == 403
    assert _queue(shopper, room).status_code == 200
    assert _hold(shopper, room, "A3").status_code == 303
    assert services.admit_pass() == 0  # still one shopper at a time


def test_a_rooms_keys_go_by_themselves_after_its_showtime(room, user, redis_db):
    _queue(_client(user), room)
    services.admit_pass()
    keys = [key for key in queue._keys(room.pk).values() if redis_db.exists(key)]
    assert {key.rsplit(":", 1)[1] for key in keys} >= {"active", "bucket", "epoch", "pace"}
    until = (room.starts_at + services.KEEP_AFTER).timestamp()
    for key in keys:
        assert abs(redis_db.pexpiretime(key) / 1000 - until) < 1, key


@pytest.mark.parametrize(
    ("on_sale", "says", "never"),
    [
        (None, "First come, first served.", "random order"),
        (-1, "was put in one random order", "First come, first served.</p>"),
    ],
)
def test_the_queue_page_tells_of_a_random_order_only_after_an_on_sale(
    showtime, user, on_sale, says, never
):
    if on_sale is not None:
        showtime.on_sale_at = timezone.now() + timedelta(hours=on_sale)
        showtime.save(update_fields=["on_sale_at"])
    room = open_waiting_room(showtime)

    page = _queue(_client(user), room)

    assert says in page.text
    assert never not in page.text


@pytest.mark.parametrize(
    ("minutes", "says"),
    [(1, "in a minute or two"), (2, "in a minute or two"), (3, "in about 3 minutes")],
)
def test_the_wait_is_never_promised_shorter_than_it_may_be(showtime, minutes, says):
    from django.template.loader import render_to_string

    from waitingroom.views import place_context

    context = place_context(
        showtime=showtime,
        place=queue.Place(admitted=False, ahead=5),
        paused=False,
        queue_url="/q/",
        wait_minutes=minutes,
    )
    assert says in render_to_string("waitingroom/_place.html", context)
