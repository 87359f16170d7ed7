"""The product scaled out on this machine, and the crowd that uses it (the scale test and
bench/scale.py share both).

`scale_stack()`: a 3-master, 3-replica Redis Cluster (holds, waiting room, event stream,
workers), two plain Redis servers (the cache on the first, the channel layer sharded over both),
a PostgreSQL database of its own, three daphnes (`--proxy-headers`) behind HAProxy with
`deploy/haproxy.cfg`, two sweepers and two notifiers. Buyers (threads, `requests`) hold, pay on the
mock gateway and are sent back; viewers (`tests.viewer`) keep the seat map open through the
balancer.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from random import Random
from urllib.parse import urljoin, urlsplit

import psycopg
import requests
from prometheus_client.parser import text_string_to_metric_families

from infra.errors import RETRY_AFTER
from tests.e2e.stack import ROOT, free_port, running_stack
from tests.postgres import postgres_database
from tests.scale.cluster import Cluster, redis_cluster, redis_server

POSTGRES = os.environ.get("CI_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
HALL = "Screen 1 · Grand"
HOLD_TTL = 20
METRICS_TOKEN = secrets.token_urlsafe(24)
CARD = {"card": "4242 4242 4242 4242", "exp": "12/39", "cvc": "123"}
CSRF = secrets.token_hex(16)
MAKE_USERS = """
import json, secrets
from datetime import timedelta
from allauth.account.models import EmailAddress
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
User = get_user_model()
users = User.objects.bulk_create(
    User(username=f"{prefix}{n:04d}", email=f"{prefix}{n:04d}@example.com", password="!")
    for n in range(count))
EmailAddress.objects.bulk_create(
    EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users)
store, keys = SessionStore(), []
for u in User.objects.filter(username__startswith=prefix):
    key = secrets.token_hex(16)
    keys.append(key)
    data = {SESSION_KEY: str(u.pk), HASH_SESSION_KEY: u.get_session_auth_hash(),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"}
    Session.objects.create(session_key=key, expire_date=timezone.now() + timedelta(days=1),
                           session_data=store.encode(data))
print(json.dumps(keys))
"""


@dataclass
class Scale:
    cluster: Cluster
    nodes: list[str]  # the daphnes' base URLs
    lb: str  # the load balancer's
    stack: object
    database_url: str

    def sql(self, query: str, *params):
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def users(self, prefix: str, count: int) -> list[str]:
        """`count` signed-in users with confirmed addresses: their session keys."""
        script = f"prefix = {prefix!r}\ncount = {count}\n" + MAKE_USERS
        done = self.stack.manage("shell", "-c", script)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def showtimes(self, count: int) -> list[int]:
        """Upcoming on-sale showtimes of the Grand, more than an hour ahead."""
        rows = self.sql(
            "SELECT s.id FROM cinema_showtime s JOIN cinema_auditorium a "
            "ON a.id = s.auditorium_id WHERE a.name = %s AND s.on_sale "
            "AND s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at LIMIT %s",
            HALL,
            count,
        )
        return [row[0] for row in rows]

    def seats(self, showtime: int) -> list[str]:
        rows = self.sql(
            "SELECT seat.label FROM cinema_seat seat JOIN cinema_showtime s "
            "ON s.auditorium_id = seat.auditorium_id WHERE s.id = %s AND NOT seat.blocked",
            showtime,
        )
        return sorted(row[0] for row in rows)

    def metrics(self, node: str) -> dict[str, float]:
        """The node's /metrics, as {'name{label="value"}': value} (and bare names)."""
        response = requests.get(
            f"{node}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
        )
        response.raise_for_status()
        values = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return values

    def reconcile(self) -> str:
        """`manage.py reconcile_payments`, as the ops person runs it: its report."""
        done = self.stack.manage("reconcile_payments", "--days", "1", check=False)
        return done.stdout + done.stderr

    def held(self, showtime: int) -> set[str]:
        """The seats of the showtime held in Redis right now (a sold mark is not a hold)."""
        labels = self.seats(showtime)
        keys = [f"hold:{{st{showtime}}}:{label}" for label in labels]
        holders = self.cluster.master_of(keys[0]).client().mget(keys)
        return {
            label
            for label, holder in zip(labels, holders, strict=True)
            if holder and not holder.startswith("sold:")
        }

    def kill_node(self, node: str) -> None:
        process = self.stack.web[node]
        process.kill()
        process.wait()


@contextmanager
def haproxy(nodes: list[str], port: int):
    """HAProxy with deploy/haproxy.cfg on `port` in front of `nodes`; yields its base URL once
    it sees every node healthy."""
    env = {
        **os.environ,
        "LB_BIND": f"127.0.0.1:{port}",
        **{f"WEB{n}": urlsplit(node).netloc for n, node in enumerate(nodes, start=1)},
    }
    process = subprocess.Popen(
        [shutil.which("haproxy") or "haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        seen: set[str] = set()
        while len(seen) < len(nodes) and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("haproxy did not start: `haproxy -c -f deploy/haproxy.cfg`")
            # Every node answers through the balancer (leastconn spreads idle requests).
            try:
                requests.get(f"{url}/health", timeout=2)
                seen = {node for node in nodes if _served_health(node)}
            except requests.RequestException:
                pass
            time.sleep(0.3)
        time.sleep(2.5)  # the checks' `rise 2` at 1 s: every node in rotation
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _served_health(node: str) -> bool:
    try:
        return requests.get(f"{node}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def scale_stack(
    *, web_nodes: int = 3, sweepers: int = 2, notifiers: int = 2, database_url: str = ""
):
    """As deployed (DEBUG off: an outage is the "try again" page, not a traceback), the site
    being the balancer's address; on an empty `database_url` (tests/scale/patroni.py's) or a
    database of its own on POSTGRES."""
    lb_port = free_port()
    site = f"http://127.0.0.1:{lb_port}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        redis_cluster() as cluster,
        redis_server() as cache_url,
        redis_server() as second_channel_url,
        nullcontext(database_url)
        if database_url
        else postgres_database(POSTGRES, prefix="scale") as database_url,
        running_stack(
            redis_url=cache_url,
            database_url=database_url,
            hold_ttl=HOLD_TTL,
            web_processes=web_nodes,
            sweepers=sweepers,
            notifier=notifiers,
            waiting_room=True,
            proxy_headers=True,
            production=True,
            extra_env={
                "SITE_URL": site,
                "CSRF_TRUSTED_ORIGINS": site,
                "REDIS_CLUSTER_URL": cluster.url,
                "CHANNEL_REDIS_URLS": f"{cache_url},{second_channel_url}",
                "METRICS_TOKEN": METRICS_TOKEN,
                "EMAIL_URL": f"file:///{tmp}/mail",
                "MAX_OPEN_BOOKINGS_PER_ACCOUNT": "10",
                # Three nodes, their workers, PostgreSQL, seven Redis servers and the crowd share
                # two cores: a request waits up to 2 s for its place (and its pooled connection)
                # rather than getting the busy page after the default quarter / half second.
                "OVERLOAD_WAIT_MS": "2000",
                "DATABASE_POOL_TIMEOUT": "2",
            },
        ) as stack,
        haproxy(list(stack), lb_port) as lb,
    ):
        yield Scale(cluster, list(stack), lb, stack, database_url)


# ---------------------------------------------------------------------------------------------
# The crowd.


@dataclass
class Seen:
    """Every answer the buyers got: (monotonic time, what, status); 0 = no answer at all."""

    answers: list[tuple[float, str, int]] = field(default_factory=list)
    # When the "try again" page (an outage's 503) came, as opposed to the busy page's.
    try_again: list[float] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, status: int, *, retry_after: str | None = None) -> None:
        with self.lock:
            at = time.monotonic()
            self.answers.append((at, what, status))
            if status == 503 and retry_after == str(RETRY_AFTER):
                self.try_again.append(at)

    def statuses(self, since: float = 0, until: float = float("inf")) -> Counter:
        return Counter(status for at, _, status in self.answers if since <= at <= until)

    def server_errors(self) -> int:
        return sum(1 for _, _, status in self.answers if status >= 500 or status == 0)


def buy(
    base: str, key: str, showtime: int, seats: list[str], rng: Random, seen: Seen, tries: int = 6
):
    """One buyer: hold 1 or 2 seats, pay, come back; another pick after a 409."""
    http = requests.Session()
    http.cookies.update({"sessionid": key, "csrftoken": CSRF})
    http.headers.update({"X-CSRFToken": CSRF, "Origin": base})

    def post(what: str, url: str, **data):
        try:
            response = http.post(url, data=data, allow_redirects=False, timeout=30)
        except requests.RequestException:
            seen.add(what, 0)
            return None
        seen.add(what, response.status_code, retry_after=response.headers.get("Retry-After"))
        return response

    for _ in range(tries):
        labels = rng.sample(seats, rng.randint(1, 2))
        held = post("hold", f"{base}/showtimes/{showtime}/hold/", seats=labels)
        if held is None or held.status_code != 303:
            if held is not None and held.status_code in (409, 503):
                time.sleep(0.2)
                continue
            return
        with seen.lock:
            seen.held += 1
        booking = urlsplit(held.headers["Location"]).path.rstrip("/")
        paying = post("pay", f"{base}{booking}/pay/")
        if paying is None or paying.status_code != 303:
            return
        gateway = post("gateway", urljoin(base, paying.headers["Location"]), **CARD)
        if gateway is not None and gateway.status_code == 303:
            with seen.lock:
                seen.paid.append(booking.rsplit("/", 1)[-1])
        return


def rush(base: str, keys: list[str], showtime: int, seats: list[str], *, threads: int = 24):
    """Every key buys once, `threads` at a time; returns what they saw."""
    seen = Seen()
    work = list(enumerate(keys))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not work:
                    return
                n, key = work.pop()
            buy(base, key, showtime, seats, Random(n), seen)  # noqa: S311 (a seeded crowd)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return seen


def sold_seats(scale: Scale, showtime: int) -> set[str]:
    rows = scale.sql(
        "SELECT seat.label FROM bookings_ticket t JOIN cinema_seat seat ON seat.id = t.seat_id "
        "WHERE t.showtime_id = %s",
        showtime,
    )
    return {row[0] for row in rows}


def settle(scale: Scale, showtime: int, timeout: float = HOLD_TTL + 30) -> float:
    """Wait until no booking of the showtime is PENDING (the sweepers' work) and the mock
    gateway's webhooks have been delivered (or 10 s more have passed); returns the seconds."""
    began = time.monotonic()
    while time.monotonic() < began + timeout:
        (pending,) = scale.sql(
            "SELECT count(*) FROM bookings_booking WHERE showtime_id = %s AND status = 'pending'",
            showtime,
        )[0]
        (undelivered,) = scale.sql(
            "SELECT count(*) FROM mock_gateway_mockwebhook WHERE delivered_at IS NULL "
            "AND created_at < now() - interval '2 seconds'"
        )[0]
        if not pending and (not undelivered or time.monotonic() > began + HOLD_TTL + 10):
            break
        time.sleep(0.5)
    return time.monotonic() - began


def money_and_seats(scale: Scale, showtime: int, paid: list[str]) -> dict:
    """The audit of a sale: seats sold twice, charges without a seat, bookings left PENDING."""
    one = scale.sql
    (doubles,) = one(
        "SELECT count(*) FROM (SELECT 1 FROM bookings_ticket WHERE showtime_id = %s "
        "GROUP BY seat_id HAVING count(*) > 1) AS twice",
        showtime,
    )[0]
    statuses = dict(
        one(
            "SELECT status, count(*) FROM bookings_booking WHERE showtime_id = %s GROUP BY status",
            showtime,
        )
    )
    # Every charge the gateway made for this showtime pays for a confirmed booking or is
    # refunded in full.
    (charged_for_nothing,) = one(
        "SELECT count(*) FROM bookings_booking b JOIN bookings_payment p ON p.booking_id = b.id "
        "WHERE b.showtime_id = %s AND p.status = 'succeeded' "
        "AND b.status <> 'confirmed' AND NOT EXISTS "
        "(SELECT 1 FROM bookings_refund r WHERE r.payment_id = p.id)",
        showtime,
    )[0]
    # The gateway's own side: every session it charged is our succeeded payment (of a
    # confirmed booking, or refunded: the check above).
    (charged_unknown,) = one(
        "SELECT count(*) FROM mock_gateway_mocksession m WHERE m.status = 'paid' AND NOT EXISTS "
        "(SELECT 1 FROM bookings_payment p WHERE p.session_id = m.id AND p.status = 'succeeded')"
    )[0]
    (paid_not_confirmed,) = one(
        "SELECT count(*) FROM bookings_booking WHERE ref = ANY(%s) AND status <> 'confirmed' "
        "AND NOT EXISTS (SELECT 1 FROM bookings_payment p JOIN bookings_refund r "
        "ON r.payment_id = p.id WHERE p.booking_id = bookings_booking.id)",
        sorted(paid),
    )[0]
    (mismatched,) = one(
        "SELECT count(*) FROM bookings_booking b WHERE b.showtime_id = %s AND "
        "(SELECT count(*) FROM bookings_ticket t WHERE t.booking_id = b.id) <> "
        "CASE WHEN b.status = 'confirmed' THEN jsonb_array_length(b.seat_labels) ELSE 0 END",
        showtime,
    )[0]
    return {
        "doubles": doubles,
        "statuses": statuses,
        "charged_for_nothing": charged_for_nothing,
        "charged_unknown_to_us": charged_unknown,
        "paid_not_confirmed_nor_refunded": paid_not_confirmed,
        "tickets_not_matching_bookings": mismatched,
    }


def lost_events(scale: Scale, showtime: int) -> dict:
    """Bookings whose audit trail lacks the event of a state they reached, and confirmed
    bookings whose email went out other than once."""
    one = scale.sql

    def missing(status: str, kind: str) -> int:
        """Bookings (in `status`, or any) with no event of `kind`."""
        return one(
            "SELECT count(*) FROM bookings_booking b WHERE b.showtime_id = %s "
            "AND (%s = '' OR b.status = %s) AND NOT EXISTS (SELECT 1 FROM audit_auditevent e "
            "WHERE e.kind = %s AND e.booking_ref = b.ref)",
            showtime,
            status,
            status,
            kind,
        )[0][0]

    (emails,) = one(
        "SELECT count(*) FROM bookings_booking b WHERE b.showtime_id = %s "
        "AND b.status = 'confirmed' AND (SELECT count(*) FROM audit_notification n "
        "JOIN audit_auditevent e ON e.id = n.event_id WHERE e.booking_ref = b.ref "
        "AND e.kind = 'booking_confirmed') <> 1",
        showtime,
    )[0]
    return {
        "no_hold_event": missing("", "hold_placed"),
        "no_confirmed_event": missing("confirmed", "booking_confirmed"),
        "no_expired_event": missing("expired", "hold_expired"),
        "confirmed_without_one_email": emails,
    }


def node_metric(scale: Scale, name: str) -> dict[str, float]:
    """One metric's value on every live node: {node: value}."""
    values = {}
    for node in scale.nodes:
        if scale.stack.web[node].poll() is None:
            values[node] = scale.metrics(node).get(name, 0.0)
    return values


def wait_for(predicate, timeout: float = 30, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
