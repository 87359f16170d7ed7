"""Shared test fixtures: every test gets a real Redis database of its own, emptied afterwards."""

import inspect
import os
import signal
from contextlib import contextmanager, suppress
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
import redis
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from cinema.models import Auditorium, Movie
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from config.settings import cache_config, channel_layers
from infra.redis import get_redis
from waitingroom.models import WaitingRoom


def _test_redis_url() -> str:
    """REDIS_URL pointed at the test database number (TEST_REDIS_DB, default 15)."""
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(base)
    kwargs = client.connection_pool.connection_kwargs
    client.close()
    db = int(os.environ.get("TEST_REDIS_DB", "15"))
    auth = f":{kwargs['password']}@" if kwargs.get("password") else ""
    return f"redis://{auth}{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{db}"


TEST_REDIS_URL = _test_redis_url()


# The fixtures and marker through which pytest-django lets a test reach the test database (it
# blocks every other connection), plus the live server, which serves from that database.
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "live_server",
    }
)
# Every test's closure holds the blocker (a pytest-django autouse fixture asks for it): only a
# test or fixture of ours asking for it by name may be unblocking the database.
BLOCKER = "django_db_blocker"
# A child process inherits DATABASE_URL unless told otherwise.
STARTS_PROCESSES = ("subprocess", "multiprocessing", "tests.crashes", "os.fork")
HERE = Path(__file__).resolve()
PROJECT = HERE.parent
VENV = PROJECT / ".venv"
# Where the processes are told: a running stack's get a database of their own (SQLite in its
# temporary folder, or the empty one its caller made), never the test database.
OWN_DATABASE = frozenset({PROJECT / "tests" / "e2e" / "stack.py"})


def _ours(path: Path) -> bool:
    return PROJECT in path.parents and VENV not in path.parents


@cache
def _starts_processes(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return any(word in text for word in STARTS_PROCESSES)


def touches_database(item) -> bool:
    """Whether the test may reach the database: a database fixture or marker, a Django test case
    class, or a test whose module, what it imports or any fixture's module starts processes (a
    child escapes pytest-django's block). In doubt, yes."""
    if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(item.fixturenames):
        return True
    from django.test import SimpleTestCase

    # pytest-django unblocks the database around every Django test case class.
    if isinstance(getattr(item, "cls", None), type) and issubclass(item.cls, SimpleTestCase):
        return True
    if BLOCKER in item._fixtureinfo.argnames:
        return True
    sources = {item.path}
    # What the test module imports from our code may start the processes (a manage.py helper).
    for value in vars(item.module).values() if getattr(item, "module", None) else ():
        with suppress(TypeError):
            sources.add(Path(inspect.getsourcefile(inspect.unwrap(value))))
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        for definition in definitions:
            try:
                source = Path(inspect.getsourcefile(inspect.unwrap(definition.func)))
            except TypeError:
                return True
            if BLOCKER in definition.argnames and _ours(source):
                return True
            sources.add(source)
    # This file names those words without starting anything.
    sources -= OWN_DATABASE | {HERE}
    return any(_starts_processes(path) for path in sources if _ours(path))


# After -m has chosen, so that the count is of the tests the pass would have run.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """With TESTS_DATABASE_ONLY=1 (CI's PostgreSQL pass) only the tests that may reach the
    database run: the others gave the same answer on the SQLite pass."""
    if os.environ.get("TESTS_DATABASE_ONLY") != "1":
        return
    kept, dropped = [], []
    for item in items:
        (kept if touches_database(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.get_terminal_writer().line(
        f"TESTS_DATABASE_ONLY: deselected {len(dropped)} tests that reach no database"
    )


@pytest.fixture(scope="session")
def redis_cluster_url():
    """With TEST_REDIS_CLUSTER=1, a Redis Cluster of the session's own (3 masters, 3 replicas)
    that infra.redis uses instead of TEST_REDIS_URL; else "" (no cluster)."""
    if os.environ.get("TEST_REDIS_CLUSTER") != "1":
        yield ""
        return
    from tests.scale.cluster import redis_cluster

    with redis_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="session")
def localstripe():
    """A real localstripe process (a Stripe-compatible server) for the session's Stripe tests."""
    from tests.localstripe import localstripe_server

    with localstripe_server() as server:
        yield server


@pytest.fixture(scope="session")
def inbox(localstripe):
    """Where localstripe's webhooks land, for a test to post to our endpoint when it chooses."""
    from tests.localstripe import inbox_server

    with inbox_server() as inbox:
        yield inbox


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Passwords hashed in one step, as Django advises for tests: the default hasher's million
    rounds cost a large part of a CPU-second a user, and hundreds of tests make users and sign
    them in. Nothing here tests the hasher; the servers tests start keep the default."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def webhooks_by_hand(settings):
    """The mock gateway keeps its webhooks until a test delivers them (`deliver_webhooks`)."""
    settings.MOCK_GATEWAY_WEBHOOKS = "manual"


GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def pay_on_gateway(client, url: str, *, card: str = GOOD_CARD):
    """The buyer fills in the gateway's page at `url` (a test card, a future date, a CVC)."""
    return client.post(url, {"card": card, "exp": "12/39", "cvc": "123"})


def deliver_webhooks(client, *, session_id: str | None = None) -> list:
    """Post every webhook the mock gateway owes to our endpoint, in order; the responses."""
    from payments.mock.webhooks import mark_delivered, pending

    responses = []
    for delivery in pending(session_id):
        responses.append(
            client.post(
                "/payments/webhook/",
                data=delivery.body,
                content_type="application/json",
                headers=delivery.headers,
            )
        )
        mark_delivered(delivery.event_id)
    return responses


def start_paying(booking) -> str:
    """Record a payment attempt for the booking and open the gateway's page: its URL."""
    from bookings import services

    return services.start_payment(
        booking=booking,
        return_url=f"http://testserver/bookings/{booking.ref}/paid/",
        cancel_url=f"http://testserver/bookings/{booking.ref}/",
    )


def pay(booking, *, card: str = GOOD_CARD):
    """Pay for a booking the whole way: the gateway's page, then its webhooks; the booking as
    it is afterwards."""
    from django.test import Client

    gateway = Client()
    pay_on_gateway(gateway, start_paying(booking), card=card)
    deliver_webhooks(gateway)
    booking.refresh_from_db()
    return booking


@pytest.fixture(autouse=True)
def redis_db(settings, redis_cluster_url):
    """A real Redis database for the test, flushed before and after: the client infra.redis
    uses (the session's cluster with TEST_REDIS_CLUSTER=1), the cache's and channel layer's."""
    settings.REDIS_URL = TEST_REDIS_URL
    settings.REDIS_CLUSTER_URL = redis_cluster_url
    settings.CHANNEL_LAYERS = channel_layers([TEST_REDIS_URL])
    settings.CACHES = cache_config(TEST_REDIS_URL)
    plain = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    client = get_redis()
    for each in {plain, client}:
        each.flushdb()
    yield client
    for each in {plain, client}:
        each.flushdb()
    plain.close()


# Nothing listens on port 1.
DEAD_REDIS = "redis://127.0.0.1:1/0"


@contextmanager
def redis_unreachable(settings):
    """infra.redis pointed at a closed port (the cluster's setting when the tests run on one)
    while the block runs; the cache and the channel layer keep theirs."""
    name = "REDIS_CLUSTER_URL" if settings.REDIS_CLUSTER_URL else "REDIS_URL"
    healthy = getattr(settings, name)
    setattr(settings, name, DEAD_REDIS)
    try:
        yield
    finally:
        setattr(settings, name, healthy)


def verified_user(username: str, **extra):
    """A customer whose email address is confirmed, as after clicking the sign-up link."""
    email = f"{username}@example.com"
    user = get_user_model().objects.create_user(username, email, "correct-horse-battery", **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def staff_user(db):
    return verified_user("ops", is_staff=True, is_superuser=True)


@pytest.fixture
def restore_signal_handlers():
    """For tests that run a worker loop in-process: it installs SIGTERM and SIGINT handlers."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture
def staff(client, staff_user):
    """A test client signed in as staff (the back office)."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def bob(db):
    return verified_user("bob")


@pytest.fixture
def user(db):
    return verified_user("ann")


SMALL_LAYOUT = """\
A  ss|ssss|ss
B  ss|ssss|ss
-
C  ac|sxss|ca
"""


@pytest.fixture
def movie(db):
    return Movie.objects.create(title="Test Film", slug="test-film", runtime_minutes=100)


@pytest.fixture
def auditorium(db):
    return save_auditorium(auditorium=Auditorium(name="Test Hall", layout=SMALL_LAYOUT))


@pytest.fixture
def showtime(movie, auditorium):
    return schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )


def open_waiting_room(showtime, **fields):
    """Turn the showtime's waiting room on, with any of its numbers (`max_active`...); returns
    the showtime (its `room` read again when next asked for)."""
    WaitingRoom.objects.update_or_create(showtime=showtime, defaults={"on": True, **fields})
    showtime.refresh_from_db()
    return showtime


def room_of(showtime) -> WaitingRoom:
    """The showtime's waiting room as the database has it now."""
    return WaitingRoom.objects.get(showtime=showtime)
