"""On-sale rush over HTTP: hundreds of signed-in users race for 478-seat showtimes, as deployed.

    .venv/bin/python bench/rush.py [--users 500] [--concurrency 16] [--quick]
    .venv/bin/python bench/rush.py --rate 60          # steady phase at 60 holds/s, not 0.8 x C
    .venv/bin/python bench/rush.py --profile 10       # also py-spy both daphnes (capacity phase)
    .venv/bin/python bench/rush.py --api              # the same rush through /api/v1/ (JSON)
    .venv/bin/python bench/rush.py --best 2           # every user asks for the best 2 seats
    .venv/bin/python bench/rush.py --gateway stripe   # paying with Stripe, against localstripe

Starts the product with `tests/e2e/stack.py` in production mode (DEBUG=0, collected static
files, the mock gateway; migrate, seed_demo, TWO daphne processes and the hold sweeper,
HOLD_TTL_SECONDS=30) on its own PostgreSQL database `bench_rush` (dropped and created again at
the start) and Redis db 13 (emptied at the start). The users and their sessions are written
straight into the database (a session like `Client.force_login` makes, signed with the
SECRET_KEY this script gives the servers; no sign-in form, so no sign-in rate limit); CSRF is a
32-character cookie this script sets and echoes in X-CSRFToken, with an Origin header (plain
http, so Django compares the Origin with the Host; the Secure cookie flag only matters to
browsers). Users are spread half and half over the two daphnes.

A user wants 1 to 4 seats, drawn towards the centre of the middle rows ("best rows"), adjacent
in a row when its picture of the hall allows; with `--best N` every user asks for the best N
available instead (`best=N`), and stops once a refusal says no N seats together are left.
It POSTs the hold as htmx does (`HX-Request`), or with `--api` as JSON to
/api/v1/showtimes/<id>/holds (the session and CSRF the same; on 409 it reads GET
/api/v1/showtimes/<id>/seats, then pays with POST /api/v1/bookings/<ref>/pay).
When that holds (303, or htmx's HX-Redirect, to the booking) it pays: POST
/bookings/<ref>/pay/ ("pay"), then the mock gateway's page with a test card ("gateway"; the
gateway's webhook confirms), and is done. With `--gateway stripe` the servers take Stripe against
a localstripe process this script starts (`make .venv-localstripe`), whose webhooks go to the
first daphne: the gateway step is GET our checkout page, then what Stripe.js does there (a
PaymentMethod, the intent updated and confirmed at localstripe, "stripe"). On 409 it reads the
seat states in the answer (the whole page, or only the seat map for htmx), picks again and comes
back later; it gives up when that map shows no seat available (sold out). On 503 or 429 (busy:
neither success nor failure) it goes back to the queue and may try again after the Retry-After
pause, capped at 1 s; a busy answer while paying is retried the same way while the hold lasts.
With `--quick` there are too few users to sell a hall out, so each buys again until the map
shows it full.

Phases, one run, the same servers, each sale on its own upcoming Grand showtime (seed_demo
schedules the Grand four times a day for nine days, so three more than an hour ahead always
exist):
a. /health: `--concurrency` closed-loop clients for `--health-seconds`.
b. capacity, CLOSED loop: `--concurrency` clients, each running one user's turn after another
   (a hold; with `--capacity-pays` also paying after it), until every seat is held (or sold).
   C = hold requests per second, every status counted; compared with /health (mean of before
   and after) at the same concurrency. The holds run out by themselves (HOLD_TTL_SECONDS).
c. steady, OPEN loop at 0.8 x C hold attempts per second (or `--rate`): attempts start evenly
   spaced, each by the user idle longest, with as many in flight as needed; a successful
   hold's pay follows at once and is not counted in the rate. Until sold out.
d. overload, OPEN loop at 5 x C, until sold out.
e. /health again; then the audit (SQL) of the three showtimes: no seat in two tickets,
   tickets == seats of confirmed bookings == seats of the bookings the clients paid for (a
   payment landing after its hold lapsed and its seats went to another buyer is refunded in
   full instead, as the design says, and counted apart), no
   PENDING booking once the sweeper has run (waits up to the hold TTL), and every charge of
   the gateway (the mock's ledger, or localstripe's succeeded intents) a confirmed booking or a
   refund (else left for reconciliation to settle).
A sale phase lasts `--phase-limit` seconds at most (600; 30 with `--quick`).
Each phase also reports the machine's CPU per request by part (the web processes, every
PostgreSQL backend, Redis, this client, anything else), from /proc: where a request's cost lies.
`--profile` samples the daphnes with py-spy `--gil` (the thread holding the GIL: their Python
CPU, not their waiting).
Latency is from sending a request to having read its body; a request that got no answer
(transport error, 60 s timeout) counts with the time it took.

Interrupted (Ctrl-C, SIGTERM) or past `--timeout` seconds, it stops the servers it started and
exits non-zero (130, 128 + the signal, or 124).
"""

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# RUSH_REDIS_URL and RUSH_DB_NAME move the run elsewhere (another Redis, another database name),
# e.g. beside a CI run on the same machine.
REDIS_URL = os.environ.get("RUSH_REDIS_URL", "redis://127.0.0.1:6379/13")
DB_NAME = os.environ.get("RUSH_DB_NAME", "bench_rush")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HALL = "Screen 1 · Grand"
HOLD_TTL = 30
CARD = {"card": "4242 4242 4242 4242", "exp": "12/39", "cvc": "123"}
# What Stripe.js sends for the card on our checkout page (localstripe takes it in a PaymentMethod).
STRIPE_CARD = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12"}
STRIPE_CARD |= {"card[exp_year]": "2039", "card[cvc]": "123"}
CLIENT_SECRET = re.compile(r'data-secret="(pi_[A-Za-z0-9]+)_secret_')
CSRF = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
# Signs the sessions this script writes; the servers get the same key.
SECRET_KEY = secrets.token_urlsafe(50)
# A seat element: its id, and among its attributes a title ending in its state, like
# "C7, standard seat, available" ("C7: available" in older markup). Blocked seats have none.
SEAT_TAG = re.compile(r'<[a-z]+\b[^>]*\bid="seat-([A-Z]+[0-9]+)"[^>]*>')
TITLE = re.compile(r'\btitle="([^"]*)"')
FREE = ("available", "held for you", "mine")
BUSY = (429, 503)
# A best-available refusal that no retry can change: no block of that many seats is left.
NO_BLOCK = re.compile(r"seats together left|Sold out")
MAX_PAUSE = 1.0  # seconds; a shopper told to come back later does so within this

CAPACITY_RATIO = 0.6  # hold capacity / /health
STEADY_LOAD = 0.8  # x C
STEADY_P99_MS = 150.0
OVERLOAD = 5.0  # x C
OVERLOAD_P99_MS = 2000.0

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",  # this process only writes users and reads the audit
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "HOLD_TTL_SECONDS": str(HOLD_TTL),
    }
)

import aiohttp
import django
import psycopg
import redis

from tests.e2e.stack import daphne_pids, running_stack
from tests.localstripe import PUBLISHABLE_KEY, WEBHOOK_SECRET, LocalStripe, localstripe_server
from tests.localstripe import SECRET_KEY as STRIPE_KEY

STOPPED_BY: list[int] = []


def stop(signum: int, frame) -> None:
    """SIGTERM or the overall timeout (SIGALRM) stop the run as Ctrl-C does: a phase running in
    asyncio.run is cancelled, then KeyboardInterrupt unwinds `running_stack`, which stops the
    servers. (An exception raised here would end only whichever task the signal landed in.)"""
    STOPPED_BY.append(signum)
    signal.raise_signal(signal.SIGINT)


# ---------------------------------------------------------------------------------------------
# Setup: database, users and sessions, the hall.


def reset_stores() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    redis.Redis.from_url(REDIS_URL).flushdb()


def make_users(count: int) -> list[str]:
    """`count` users and one signed-in session each; returns the session keys."""
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user_model = get_user_model()
    password = make_password(secrets.token_urlsafe(12))
    user_model.objects.bulk_create(
        user_model(username=f"rush{n:04d}", email=f"rush{n:04d}@example.com", password=password)
        for n in range(count)
    )
    users = user_model.objects.filter(username__startswith="rush").order_by("pk")
    # Holding seats needs a confirmed address, as after clicking the sign-up link.
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    # Written to the database: a cached_db session engine finds them there on a cache miss.
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    sessions = [
        Session(
            session_key=secrets.token_hex(16),
            session_data=store.encode(
                {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
            ),
            expire_date=expires,
        )
        for user in users
    ]
    Session.objects.bulk_create(sessions)
    return [session.session_key for session in sessions]


@dataclass(frozen=True)
class Hall:
    rows: list[list[str]]  # labels per row, left to right
    weight: dict[str, float]  # how much users want each seat
    size: int


def load_hall(count: int) -> tuple[Hall, list[int]]:
    """The Grand's seats, and its first `count` on-sale showtimes more than an hour ahead."""
    from datetime import timedelta

    from django.utils import timezone

    from cinema.models import Seat, Showtime

    soon = timezone.now() + timedelta(hours=1)
    showtimes = list(
        Showtime.objects.upcoming()
        .filter(auditorium__name=HALL, on_sale=True, starts_at__gt=soon)
        .values_list("pk", flat=True)[:count]
    )
    if len(showtimes) < count:
        raise SystemExit(
            f"need {count} upcoming showtimes of the Grand, seed_demo made {showtimes}"
        )
    seats = list(
        Seat.objects.filter(auditorium__name=HALL, blocked=False).values_list("label", "x", "y")
    )
    by_y: dict[int, list[tuple[int, str]]] = {}
    for label, x, y in seats:
        by_y.setdefault(y, []).append((x, label))
    ys = sorted(by_y)
    xs = [x for _, x, _ in seats]
    centre_x = (min(xs) + max(xs)) / 2
    sigma_x = (max(xs) - min(xs)) / 4
    # The best rows: about 45 % of the way back, tailing off to the front and the back.
    best_row = (len(ys) - 1) * 0.45
    sigma_row = len(ys) / 5
    weight = {}
    rows = []
    for index, y in enumerate(ys):
        row = [label for _, label in sorted(by_y[y])]
        rows.append(row)
        for x, label in by_y[y]:
            weight[label] = math.exp(
                -0.5 * ((index - best_row) / sigma_row) ** 2 - 0.5 * ((x - centre_x) / sigma_x) ** 2
            )
    return Hall(rows=rows, weight=weight, size=len(seats)), showtimes


# ---------------------------------------------------------------------------------------------
# The client.


@dataclass
class Stats:
    """Every request of a phase as (kind, status, ms); the status of a request that got no
    answer is the exception's name."""

    requests: list[tuple[str, int | str, float]] = field(default_factory=list)
    held: int = 0  # successful holds
    no_block: int = 0  # 409s saying no block of the seats asked for is left (`--best`)
    paid: list[str] = field(default_factory=list)  # refs of the bookings the clients paid for

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        self.requests.append((kind, status, seconds * 1000))

    def ms(self, *kinds: str, status: int | None = None) -> list[float]:
        return [
            ms
            for kind, code, ms in self.requests
            if (not kinds or kind in kinds) and (status is None or code == status)
        ]

    def statuses(self) -> Counter:
        return Counter((kind, code) for kind, code, _ in self.requests)

    def server_errors(self) -> Counter:
        """5xx responses by code."""
        return Counter(
            code for _, code, _ in self.requests if isinstance(code, int) and code >= 500
        )


def pause(headers) -> float:
    """How long a busy answer asks to wait (Retry-After, in seconds), capped at MAX_PAUSE."""
    value = headers.get("Retry-After", "")
    return min(MAX_PAUSE, max(0.1, float(value))) if value.isdigit() else 0.5


class Shopper:
    def __init__(
        self,
        *,
        key: str,
        base: str,
        hall: Hall,
        rng: random.Random,
        rebuy: bool,
        pays: bool = True,
        api: bool = False,
        stripe: str = "",
        best: int = 0,
    ):
        self.key = key
        self.best = best  # ask for the best `best` seats instead of picking (0: pick)
        self.stripe = stripe  # localstripe's URL when Stripe is the gateway
        self.api = api  # True: hold and pay through the JSON API instead of the pages
        self.rebuy = rebuy
        self.pays = pays  # False: a successful hold ends the turn (the hold runs out by itself)
        self.base = base
        self.hall = hall
        self.rng = rng
        self.want = rng.randint(1, 4)
        self.free = set(hall.weight)  # what this user believes is available
        self.done = False

    def choose(self) -> list[str]:
        """An anchor seat drawn by weight, then adjacent seats in its row when there are any."""
        free = sorted(self.free)
        anchor = self.rng.choices(free, weights=[self.hall.weight[s] for s in free])[0]
        row = next(row for row in self.hall.rows if anchor in row)
        count = min(self.want, sum(1 for label in row if label in self.free))
        i = row.index(anchor)
        windows = [
            row[start : start + count]
            for start in range(max(0, i - count + 1), min(i, len(row) - count) + 1)
            if all(label in self.free for label in row[start : start + count])
        ]
        # The hold rules refuse a pick that leaves one free seat alone beside a taken one
        # (bookings.services.rules) while another pick avoids it: a buyer picks as the seat
        # map lets them. This picture has no aisles, so it errs on the side of caution.
        clean = [window for window in windows if not self._strands(row, window)]
        if windows:
            return self.rng.choice(clean or windows)
        nearest = sorted(
            (label for label in row if label in self.free), key=lambda s: abs(row.index(s) - i)
        )
        return nearest[:count]

    def _strands(self, row: list[str], window: list[str]) -> bool:
        """Whether `window` leaves a free seat of `row` between it and a seat not free."""
        start, end = row.index(window[0]), row.index(window[-1])
        for lone, beyond in ((start - 1, start - 2), (end + 1, end + 2)):
            inside = 0 <= lone < len(row) and 0 <= beyond < len(row)
            if inside and row[lone] in self.free and row[beyond] not in self.free:
                return True
        return False

    def see(self, page: str) -> None:
        """Update the picture of the hall from the seats in a page or fragment."""
        for tag in SEAT_TAG.finditer(page):
            label, title = tag.group(1), TITLE.search(tag.group(0))
            if title is None or label not in self.hall.weight:
                continue
            if title.group(1).endswith(FREE):
                self.free.add(label)
            else:
                self.free.discard(label)

    def see_data(self, seats: list[dict]) -> None:
        """Update the picture of the hall from the API's seats (`/api/v1/showtimes/<id>/seats`)."""
        for seat in seats:
            if seat["label"] in self.hall.weight:
                if seat["state"] == "available":
                    self.free.add(seat["label"])
                else:
                    self.free.discard(seat["label"])

    async def post(
        self, http: aiohttp.ClientSession, stats: Stats, kind: str, url: str, **extra
    ) -> tuple[int, dict, str]:
        """One request (a POST unless `method` says), timed and counted: (status, headers,
        body); status 0 without an answer."""
        method = extra.pop("method", "POST")
        headers = {
            "Cookie": f"sessionid={self.key}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Origin": self.base,
            **extra.pop("headers", {}),
        }
        started = time.perf_counter()
        try:
            async with http.request(
                method, urljoin(self.base, url), headers=headers, allow_redirects=False, **extra
            ) as response:
                body = await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            stats.add(kind, type(error).__name__, time.perf_counter() - started)
            return 0, {}, ""
        stats.add(kind, response.status, time.perf_counter() - started)
        return response.status, response.headers, body

    async def post_patiently(self, http, stats: Stats, kind: str, url: str, **extra):
        """`post`, again after the pause it asks for while the answer is busy and the hold
        lasts: a buyer does not walk away from seats they hold."""
        deadline = time.monotonic() + HOLD_TTL
        while True:
            status, headers, body = await self.post(http, stats, kind, url, **extra)
            if status not in BUSY or time.monotonic() > deadline:
                return status, headers, body
            await asyncio.sleep(pause(headers))

    async def turn(self, http: aiohttp.ClientSession, showtime: int, stats: Stats) -> float:
        """One hold attempt and, after a successful one, paying; returns the pause the server
        asked for before the next turn (0 unless it was busy)."""
        if self.api:
            return await self.api_turn(http, showtime, stats)
        labels = [] if self.best else self.choose()
        status, headers, body = await self.post(
            http,
            stats,
            "hold",
            f"/showtimes/{showtime}/hold/",
            data=[("best", str(self.best))] if self.best else [("seats", s) for s in labels],
            headers={"HX-Request": "true"},
        )
        if status in BUSY:
            return pause(headers)
        if status == 409:
            self.see(body)
            no_block = bool(self.best and NO_BLOCK.search(body))
            stats.no_block += no_block
            self.done = not self.free or no_block
            return 0.0
        booking = urlsplit(headers.get("Location") or headers.get("HX-Redirect") or "").path
        if status >= 400 or not booking:
            return 0.0  # counted; this user tries again later
        stats.held += 1
        if not self.pays:
            self.free -= set(labels)
            self.done = not self.rebuy or not self.free
            return 0.0
        status, headers, _ = await self.post_patiently(
            http, stats, "pay", f"{booking.rstrip('/')}/pay/"
        )
        gateway = headers.get("Location", "")
        if status != 303 or urlsplit(gateway).path.startswith(booking):
            # Not paying (back on the booking page with a message, or an error): the hold
            # expires and the seats come back for everyone.
            return 0.0
        if await self.pay_on_gateway(http, stats, gateway):
            stats.paid.append(booking.rstrip("/").rsplit("/", 1)[-1])
            self.free -= set(labels)
            self.want = self.rng.randint(1, 4)
            self.done = not self.rebuy or not self.free
        return 0.0

    async def pay_on_gateway(self, http, stats: Stats, url: str) -> bool:
        """Pay on the gateway's page at `url`; True once it took the money (its webhook confirms
        later). The mock's page is served by the same daphne; with Stripe our checkout page is,
        and the card goes to localstripe as Stripe.js would send it."""
        if not self.stripe:
            status, _, _ = await self.post_patiently(http, stats, "gateway", url, data=CARD)
            return status == 303  # to the booking's return page: paid
        status, _, page = await self.post_patiently(http, stats, "gateway", url, method="GET")
        intent = CLIENT_SECRET.search(page) if status == 200 else None
        if intent is None:
            return False
        auth = {"Authorization": f"Bearer {STRIPE_KEY}"}
        status, _, body = await self.post(
            http,
            stats,
            "stripe",
            f"{self.stripe}/v1/payment_methods",
            data=STRIPE_CARD,
            headers=auth,
        )
        if status != 200:
            return False
        intent_url = f"{self.stripe}/v1/payment_intents/{intent[1]}"
        method = {"payment_method": json.loads(body)["id"]}
        status, _, _ = await self.post(http, stats, "stripe", intent_url, data=method, headers=auth)
        if status != 200:
            return False
        status, _, body = await self.post(
            http, stats, "stripe", f"{intent_url}/confirm", headers=auth
        )
        return status == 200 and json.loads(body)["status"] == "succeeded"

    async def api_turn(self, http: aiohttp.ClientSession, showtime: int, stats: Stats) -> float:
        """`turn` through the JSON API, as an app would: POST the hold as JSON; on 409 read the
        seats as data (GET, counted as "seats") and pick again later; after a hold, POST its
        pay and then the gateway's page as the browser would."""
        labels = [] if self.best else self.choose()
        status, headers, body = await self.post(
            http,
            stats,
            "hold",
            f"/api/v1/showtimes/{showtime}/holds",
            json={"best": self.best} if self.best else {"seats": labels},
        )
        if status in BUSY:
            return pause(headers)
        if status == 409 and self.best and NO_BLOCK.search(body):
            stats.no_block += 1
            self.done = True
            return 0.0
        if status == 409:
            status, _, body = await self.post(
                http, stats, "seats", f"/api/v1/showtimes/{showtime}/seats", method="GET"
            )
            if status == 200:
                self.see_data(json.loads(body)["seats"])
            self.done = not self.free
            return 0.0
        if status != 201:
            return 0.0  # counted; this user tries again later
        ref, labels = json.loads(body)["ref"], json.loads(body)["seats"]
        stats.held += 1
        if not self.pays:
            self.free -= set(labels)
            self.done = not self.rebuy or not self.free
            return 0.0
        status, headers, body = await self.post_patiently(
            http, stats, "pay", f"/api/v1/bookings/{ref}/pay", json={}
        )
        if status != 201:
            return 0.0  # the hold expires and the seats come back for everyone
        if await self.pay_on_gateway(http, stats, json.loads(body)["url"]):
            stats.paid.append(ref)
            self.free -= set(labels)
            self.want = self.rng.randint(1, 4)
            self.done = not self.rebuy or not self.free
        return 0.0


class Crowd:
    """The shoppers of one sale: who is idle (longest first) and how many are out, that is
    requesting, paying or pausing. The sale is over when nobody is idle or out."""

    def __init__(self, shoppers: list[Shopper]):
        self.idle = deque(shoppers)
        self.out = 0

    def take(self) -> Shopper:
        self.out += 1
        return self.idle.popleft()

    def back(self, shopper: Shopper, pause: float) -> None:
        if shopper.done:
            self.out -= 1
        elif pause:
            asyncio.get_running_loop().call_later(pause, self._rejoin, shopper)
        else:
            self._rejoin(shopper)

    def _rejoin(self, shopper: Shopper) -> None:
        self.out -= 1
        self.idle.append(shopper)

    @property
    def over(self) -> bool:
        return not self.idle and not self.out


async def take_turn(crowd: Crowd, shopper: Shopper, http, showtime: int, stats: Stats) -> None:
    crowd.back(shopper, await shopper.turn(http, showtime, stats))


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=2000),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    )


def shoppers_for(
    keys: list[str],
    urls: list[str],
    hall: Hall,
    seed: int,
    rebuy: bool,
    pays: bool = True,
    api: bool = False,
    stripe: str = "",
    best: int = 0,
) -> list[Shopper]:
    rng = random.Random(seed)
    return [
        Shopper(
            key=key,
            base=urls[n % len(urls)],
            hall=hall,
            rng=random.Random(rng.random()),
            rebuy=rebuy,
            pays=pays,
            api=api,
            stripe=stripe,
            best=best,
        )
        for n, key in enumerate(keys)
    ]


@dataclass
class Phase:
    name: str
    stats: Stats
    elapsed: float
    client_cpu: float
    showtime: int = 0
    rate: float = 0.0  # offered hold attempts per second (open loop)
    issued: int = 0
    issue_window: float = 0.0
    skipped: int = 0  # open-loop slots that found no idle user
    lag_p99: float = 0.0  # how late the open loop started attempts, ms
    cpu: Counter = field(default_factory=Counter)  # CPU seconds by part (`cpu_seconds`)

    @property
    def rps(self) -> float:
        return len(self.stats.requests) / self.elapsed

    @property
    def hold_rate(self) -> float:
        return len(self.stats.ms("hold")) / self.elapsed

    @property
    def offered(self) -> float:
        return self.issued / self.issue_window if self.issue_window else 0.0


async def hammer_health(name: str, urls: list[str], concurrency: int, seconds: float) -> Phase:
    stats = Stats()
    async with new_session() as http:
        deadline = time.perf_counter() + seconds

        async def client(n: int) -> None:
            url = f"{urls[n % len(urls)]}/health"
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with http.get(url) as response:
                        await response.read()
                    status = response.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status = type(error).__name__
                stats.add("health", status, time.perf_counter() - started)

        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Phase(name, stats, elapsed, (time.process_time() - cpu) / elapsed)


async def closed_loop(
    name: str, shoppers: list[Shopper], showtime: int, concurrency: int, limit: float
) -> Phase:
    """`concurrency` clients, each running one user's turn after another, until sold out."""
    stats, crowd = Stats(), Crowd(shoppers)
    async with new_session() as http:
        began, cpu = time.perf_counter(), time.process_time()

        async def client() -> None:
            while not crowd.over and time.perf_counter() - began < limit:
                if crowd.idle:
                    await take_turn(crowd, crowd.take(), http, showtime, stats)
                else:
                    await asyncio.sleep(0.002)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Phase(name, stats, elapsed, (time.process_time() - cpu) / elapsed, showtime)


async def open_loop(
    name: str, shoppers: list[Shopper], showtime: int, rate: float, limit: float
) -> Phase:
    """Hold attempts start every 1/rate s, each by the user idle longest; any number in flight."""
    stats, crowd = Stats(), Crowd(shoppers)
    flying: set[asyncio.Task] = set()
    issued = skipped = slot = 0
    lags = []
    async with new_session() as http:
        began = last_issue = time.perf_counter()
        cpu = time.process_time()
        while not crowd.over:
            target = began + slot / rate
            slot += 1
            if target - began > limit:
                break
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append((time.perf_counter() - target) * 1000)
            if not crowd.idle:
                skipped += 1
                continue
            issued += 1
            last_issue = time.perf_counter()
            task = asyncio.create_task(take_turn(crowd, crowd.take(), http, showtime, stats))
            flying.add(task)
            task.add_done_callback(flying.discard)
        if flying:
            await asyncio.gather(*flying)
        elapsed = time.perf_counter() - began
    return Phase(
        name,
        stats,
        elapsed,
        (time.process_time() - cpu) / elapsed,
        showtime,
        rate=rate,
        issued=issued,
        issue_window=last_issue - began,
        skipped=skipped,
        lag_p99=pct(lags, 0.99),
    )


async def warm_up(urls: list[str], showtimes: list[int]) -> None:
    async with new_session() as http:
        for url in urls:
            for _ in range(20):
                async with http.get(f"{url}/health") as response:
                    await response.read()
            for showtime in showtimes:
                async with http.get(f"{url}/showtimes/{showtime}/") as response:
                    await response.read()


# ---------------------------------------------------------------------------------------------
# Audit, profile, report.


def audit(
    showtimes: list[int], paid: set[str], stripe: LocalStripe | None = None, stack=None
) -> dict:
    """The sale in the database, once the sweeper has expired every lapsed hold; `paid` are the
    refs of the bookings the clients paid for (the gateway's page sent them back paid); the
    charges are localstripe's with `stripe`."""
    from django.db import connection

    from bookings.models import Booking, Payment

    began = time.monotonic()
    while (
        Booking.objects.filter(status="pending").exists()
        and time.monotonic() < began + HOLD_TTL + 15
    ):
        time.sleep(0.5)
    # localstripe's webhooks come a second after each charge, from one busy core: wait for them
    # (every charge settles its payment, confirmed or refunded) as the sweeper is waited for.
    while (
        stripe is not None
        and _charged(stripe) > Payment.objects.filter(status="succeeded").count()
        and time.monotonic() < began + HOLD_TTL + 90
    ):
        time.sleep(1)
    result = {"waited": time.monotonic() - began, "showtimes": {}, "reconciled": ""}
    if stack is not None and _charged(stripe) > Payment.objects.filter(status="succeeded").count():
        # What the gateway failed to deliver (localstripe sends each webhook once; the mock gives
        # up after five tries, which a rush's busy answers can use up), reconciliation finds, as
        # the hourly cron would.
        out = stack.manage("reconcile_payments", check=False).stdout.strip().splitlines()
        result["reconciled"] = out[-1] if out else "no output"
    with connection.cursor() as cursor:

        def one(sql: str, *params) -> tuple:
            cursor.execute(sql, params)
            return cursor.fetchone()

        (result["doubles"],) = one(
            "SELECT count(*) FROM (SELECT 1 FROM bookings_ticket "
            "GROUP BY showtime_id, seat_id HAVING count(*) > 1) AS twice"
        )
        for showtime in showtimes:
            facts = result["showtimes"][showtime] = {}
            (facts["tickets"],) = one(
                "SELECT count(*) FROM bookings_ticket WHERE showtime_id = %s", showtime
            )
            facts["confirmed_seats"], facts["confirmed"] = one(
                "SELECT coalesce(sum(jsonb_array_length(seat_labels)), 0), count(*) "
                "FROM bookings_booking WHERE showtime_id = %s AND status = 'confirmed'",
                showtime,
            )
            # A payment that lands after its hold lapsed and its seats were sold to someone else
            # is refunded in full by itself: paid for, not confirmed, and nobody out of pocket.
            facts["paid"], facts["paid_confirmed"], facts["paid_seats"], facts["paid_refunded"] = (
                one(
                    "SELECT count(*), count(*) FILTER (WHERE b.status = 'confirmed'), "
                    "coalesce(sum(jsonb_array_length(b.seat_labels)) "
                    "FILTER (WHERE b.status = 'confirmed'), 0), "
                    "count(*) FILTER (WHERE b.status <> 'confirmed' AND EXISTS ("
                    "SELECT 1 FROM bookings_refund r "
                    "JOIN bookings_payment p ON p.id = r.payment_id WHERE p.booking_id = b.id "
                    "GROUP BY p.id, p.amount HAVING sum(r.amount) = p.amount"
                    ")) FROM bookings_booking b WHERE b.showtime_id = %s AND b.ref = ANY(%s)",
                    showtime,
                    sorted(paid),
                )
            )
            (facts["mismatched"],) = one(
                "SELECT count(*) FROM bookings_booking b WHERE b.showtime_id = %s AND "
                "(SELECT count(*) FROM bookings_ticket t WHERE t.booking_id = b.id) <> "
                "CASE WHEN b.status = 'confirmed' THEN jsonb_array_length(b.seat_labels) "
                "ELSE 0 END",
                showtime,
            )
            cursor.execute(
                "SELECT status, count(*) FROM bookings_booking WHERE showtime_id = %s "
                "GROUP BY status",
                [showtime],
            )
            facts["statuses"] = dict(cursor.fetchall())
        # Every charge the gateway made pays for a confirmed booking or is refunded.
        (result["refunded"],) = one("SELECT count(DISTINCT payment_id) FROM bookings_refund")
        if stripe is not None:
            result["charges"], result["undelivered"] = stripe_charges(stripe), "not counted"
            return result
        (result["charges"],) = one(
            "SELECT count(*) FROM mock_gateway_mocksession WHERE status = 'paid'"
        )
        (result["undelivered"],) = one(
            "SELECT count(*) FROM mock_gateway_mockwebhook WHERE delivered_at IS NULL"
        )
    return result


def _charged(stripe: LocalStripe | None) -> int:
    """The charges the gateway made: localstripe's PaymentIntents, or the mock's paid pages."""
    if stripe is not None:
        return stripe_charges(stripe)
    from payments.mock.models import MockSession

    return MockSession.objects.filter(status="paid").count()


def stripe_charges(stripe: LocalStripe) -> int:
    """The PaymentIntents localstripe has charged (every page of its list)."""
    charged, after = 0, {}
    while True:
        page = stripe.call("GET", "/v1/payment_intents", limit=100, **after)
        charged += sum(intent["status"] == "succeeded" for intent in page["data"])
        if not page["has_more"]:
            return charged
        after = {"starting_after": page["data"][-1]["id"]}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(web_pids: list[int]) -> Counter:
    """CPU seconds used so far by the web processes, PostgreSQL (every backend), Redis and this
    client, from /proc; other processes (the sweeper, the gateway's senders live in the web
    processes) are "other". Differences over a phase tell who the machine worked for."""
    used: Counter = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        pid = int(entry.name)
        if pid in web_pids:
            used["web"] += seconds
        elif name.startswith(("postgres", "postmaster")):
            used["postgres"] += seconds
        elif name.startswith("redis-server"):
            used["redis"] += seconds
        elif pid == os.getpid():
            used["client"] += seconds
        else:
            used["other"] += seconds
    return used


def measured(web_pids: list[int], phase_coroutine) -> "Phase":
    """Run a phase, noting the CPU each part of the machine spent on it."""
    before = cpu_seconds(web_pids)
    phase = asyncio.run(phase_coroutine)
    phase.cpu = cpu_seconds(web_pids) - before
    return phase


def start_profiles(pids: list[int], seconds: int) -> list[tuple[subprocess.Popen, str]]:
    spy = str(ROOT / ".venv" / "bin" / "py-spy")
    jobs = []
    for pid in pids:
        out = str(Path(tempfile.gettempdir()) / f"rush-profile-{pid}.txt")
        command = [spy, "record", "-d", str(seconds), "-r", "100", "-f", "raw", "--gil", "-o", out]
        jobs.append(
            (
                subprocess.Popen(
                    [*command, "--pid", str(pid)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
                out,
            )
        )
    return jobs


# Leaf frames of threads that wait for work, not for the request they serve.
IDLE_LEAVES = ("Condition.wait", "EpollSelector.select", "_worker (", "Thread._wait_for_tstate")
PRODUCT = tuple(
    f"({package}/" for package in ("bookings", "seats", "cinema", "config", "audit", "payments")
)
LIBRARIES = tuple(f"({package}/" for package in ("django", "psycopg", "redis", "asgiref"))


def summarize_profile(paths: list[str], top: int = 22) -> None:
    """Share of busy samples (idle worker threads left out) per frame, inclusive and self."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = idle = 0
    for path in paths:
        if not Path(path).exists():
            continue
        for row in Path(path).read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            if not count.isdigit():
                continue
            samples, frames = int(count), stack.split(";")
            if frames[-1].startswith(IDLE_LEAVES):
                idle += samples
                continue
            total += samples
            for frame in set(frames):
                inclusive[frame] += samples
            own[frames[-1]] += samples
    if not total:
        print("profile: no samples")
        return
    print(f"\nprofile (py-spy, both daphnes): {total} busy samples ({idle} idle left out)")
    print("  inclusive, product code and Django/psycopg/redis:")
    shown = [
        (frame, n)
        for frame, n in inclusive.most_common()
        if any(tag in frame for tag in PRODUCT + LIBRARIES)
    ]
    for frame, n in shown[:top]:
        print(f"    {100 * n / total:5.1f}%  {frame[:110]}")
    print("  inclusive, product code only:")
    for frame, n in [(f, n) for f, n in shown if any(tag in f for tag in PRODUCT)][:top]:
        print(f"    {100 * n / total:5.1f}%  {frame[:110]}")
    print("  self:")
    for frame, n in own.most_common(12):
        print(f"    {100 * n / total:5.1f}%  {frame[:110]}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<22} n=0"
    return (
        f"  {name:<22} n={len(values):<6} p50 {pct(values, 0.5):7.1f} ms  "
        f"p90 {pct(values, 0.9):7.1f} ms  p99 {pct(values, 0.99):7.1f} ms  "
        f"max {max(values):7.1f} ms"
    )


def report_health(phase: Phase, concurrency: int) -> None:
    lat = phase.stats.ms()
    print(
        f"\n{phase.name}: {phase.rps:.0f} req/s at concurrency {concurrency} "
        f"({len(lat)} in {phase.elapsed:.1f} s), p50 {pct(lat, 0.5):.1f} ms, "
        f"p99 {pct(lat, 0.99):.1f} ms, statuses {dict(phase.stats.statuses())}, "
        f"client CPU {phase.client_cpu:.0%}"
    )
    report_cpu(phase)


def report_cpu(phase: Phase) -> None:
    """The machine's CPU per request of the phase, by part: where a request's cost lies."""
    requests = len(phase.stats.requests)
    if not phase.cpu or not requests:
        return
    parts = ("web", "postgres", "redis", "client", "other")
    total = sum(phase.cpu[part] for part in parts)
    print(
        "  CPU per request: "
        + ", ".join(f"{part} {1000 * phase.cpu[part] / requests:.2f} ms" for part in parts)
        + f"; total {1000 * total / requests:.2f} ms ({total / phase.elapsed:.2f} cores busy)"
    )


def report_sale(phase: Phase, title: str) -> None:
    stats = phase.stats
    holds = stats.ms("hold")
    print(f"\n{phase.name}: {title}, showtime {phase.showtime}")
    print(
        f"  ended after {phase.elapsed:.2f} s: {len(holds)} hold requests = "
        f"{phase.hold_rate:.1f} holds/s ({stats.held / phase.elapsed:.1f} successful/s); "
        f"all requests {len(stats.requests) / phase.elapsed:.1f}/s"
    )
    if phase.rate:
        print(
            f"  offered {phase.offered:.1f} hold attempts/s ({phase.issued} over "
            f"{phase.issue_window:.2f} s; asked {phase.rate:.1f}/s); {phase.skipped} slots "
            f"found no idle user; scheduler lag p99 {phase.lag_p99:.1f} ms"
        )
    refused = stats.statuses()[("hold", 409)]
    lost = refused - stats.no_block
    print(
        f"  conflicts per successful hold: {lost / max(stats.held, 1):.2f} ({refused} refused "
        f"with 409, {stats.no_block} of them saying no block was left; {stats.held} held)"
    )
    print(line("hold (all)", holds))
    for code in sorted({code for kind, code, _ in stats.requests if kind == "hold"}, key=str):
        print(line(f"hold {code}", stats.ms("hold", status=code)))
    print(line("pay (both requests)", stats.ms("pay", "gateway")))
    print(line("  POST .../pay", stats.ms("pay")))
    print(line("  POST gateway page", stats.ms("gateway")))
    if stats.ms("seats"):
        print(line("seats read after a 409 (API)", stats.ms("seats")))
    print(line("every request", stats.ms()))
    statuses = ", ".join(
        f"{kind} {code}: {n}" for (kind, code), n in sorted(stats.statuses().items(), key=str)
    )
    print(f"  statuses: {statuses}")
    print(f"  5xx by code: {dict(stats.server_errors()) or 'none'}")
    print(
        f"  bookings paid for (client side): {len(stats.paid)}; client CPU {phase.client_cpu:.0%}"
    )
    report_cpu(phase)


def report_audit(result: dict, size: int) -> int:
    """Print the audit of the sales (`audit`); returns the charges neither confirmed nor
    refunded (left for reconciliation)."""
    print(f"\naudit (after waiting {result['waited']:.1f} s for the sweeper):")
    if result.get("reconciled"):
        print(f"  webhooks the gateway did not deliver, by reconciliation: {result['reconciled']}")
    print(f"  (showtime, seat) in two tickets: {result['doubles']}")
    for showtime, facts in result["showtimes"].items():
        print(
            f"  showtime {showtime}: {facts['tickets']} tickets / {size} seats, "
            f"confirmed bookings {facts['confirmed']} with {facts['confirmed_seats']} seats, "
            f"bookings whose tickets != their seats {facts['mismatched']}, "
            f"statuses {facts['statuses']}; the clients paid for {facts['paid']} bookings "
            f"({facts['paid_confirmed']} confirmed) with {facts['paid_seats']} seats"
        )
    confirmed = sum(f["confirmed"] for f in result["showtimes"].values())
    unaccounted = result["charges"] - confirmed - result["refunded"]
    print(
        f"  gateway charges {result['charges']} = confirmed bookings {confirmed} + refunded "
        f"{result['refunded']} + {unaccounted} for reconciliation to settle; webhooks the "
        f"gateway never delivered: {result['undelivered']}"
    )
    return unaccounted


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16, help="/health and capacity")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help=f"steady offered holds/s (default {STEADY_LOAD} x C)",
    )
    parser.add_argument("--health-seconds", type=float, default=5.0)
    parser.add_argument(
        "--phase-limit", type=float, default=600.0, help="seconds a sale phase may last at most"
    )
    parser.add_argument(
        "--timeout", type=int, default=1500, help="seconds for the whole run, then stop"
    )
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="for the servers"
    )
    parser.add_argument("--profile", type=int, default=0, help="py-spy seconds (capacity)")
    parser.add_argument(
        "--capacity-pays",
        action="store_true",
        help="capacity clients also pay after each hold (by default they only hold: C counts "
        "holds, and paying is measured in the steady phase)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 50 users (who buy again), 2 s of /health, sale phases of 30 s at most",
    )
    parser.add_argument(
        "--api",
        action="store_true",
        help="hold and pay through the JSON API (/api/v1/) instead of the pages' forms",
    )
    parser.add_argument(
        "--gateway",
        choices=["mock", "stripe"],
        default="mock",
        help="the payment provider: the mock, or Stripe against a localstripe process",
    )
    parser.add_argument(
        "--best",
        type=int,
        default=0,
        metavar="N",
        help="every user asks for the best N seats available instead of picking seats",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.users, args.health_seconds = 50, 2.0
        args.phase_limit = min(args.phase_limit, 30.0)
    return args


def main() -> None:
    args = parse_args()
    # Also when started in the background, where SIGINT comes ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(args.timeout)
    try:
        run(args)
    except KeyboardInterrupt:
        signum = STOPPED_BY[0] if STOPPED_BY else signal.SIGINT
        name = "timeout" if signum == signal.SIGALRM else signal.Signals(signum).name
        print(f"\nstopped ({name}); the servers were stopped", file=sys.stderr)
        sys.exit(124 if signum == signal.SIGALRM else 128 + signum)
    finally:
        signal.alarm(0)


def run(args: argparse.Namespace) -> None:
    if args.gateway == "mock":
        sell(args)
        return
    log_dir = os.environ.get("STACK_LOG_DIR")
    with localstripe_server(Path(log_dir) / "localstripe.log" if log_dir else None) as stripe:
        sell(args, stripe)


def stripe_env(stripe: LocalStripe) -> dict[str, str]:
    """The servers' settings for Stripe against localstripe (test keys with DEBUG off)."""
    return {
        "PAYMENT_GATEWAY": "payments.stripe.gateway.StripeGateway",
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_ALLOW_TEST_KEYS": "1",
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_JS_URL": f"{stripe.url}/js.stripe.com/v3/",
    }


def sell(args: argparse.Namespace, stripe: LocalStripe | None = None) -> None:
    # Users want 2.5 seats on average: too few users to sell the hall out buy again.
    rebuy = args.users * 2.5 < 1.5 * 478
    overrides = dict(setting.split("=", 1) for setting in args.server_env)
    server_env = {"SECRET_KEY": SECRET_KEY, **(stripe_env(stripe) if stripe else {}), **overrides}

    reset_stores()
    django.setup()
    from django.db import connections

    print(
        f"rush: {args.users} users; /health and capacity at concurrency {args.concurrency}, "
        f"steady at {f'{args.rate:.0f}/s' if args.rate else f'{STEADY_LOAD} x C'}, overload at "
        f"{OVERLOAD} x C; 2 daphnes with DEBUG=0, PostgreSQL {DB_NAME}, Redis {REDIS_URL}, "
        f"hold TTL {HOLD_TTL} s; server env {overrides or 'as deployed'}; "
        f"{'through the JSON API' if args.api else 'through the pages'}"
        f"{f', best {args.best} for everyone' if args.best else ''}; paying with "
        f"{'Stripe (localstripe)' if stripe else 'the mock'}"
    )
    with running_stack(
        redis_url=REDIS_URL,
        hold_ttl=HOLD_TTL,
        web_processes=2,
        database_url=DATABASE_URL,
        extra_env=server_env,
        production=True,
    ) as urls:
        if stripe:
            stripe.send_webhooks_to(f"{urls[0]}/payments/webhook/", secret=WEBHOOK_SECRET)
        keys = make_users(args.users)
        hall, showtimes = load_hall(3)
        connections.close_all()
        print(
            f"hall {HALL}: {hall.size} seats in {len(hall.rows)} rows; showtimes {showtimes} "
            f"(capacity, steady, overload); servers {', '.join(urls)}"
        )
        asyncio.run(warm_up(urls, showtimes))

        def shoppers(seed: int, pays: bool = True) -> list[Shopper]:
            ls = stripe.url if stripe else ""
            return shoppers_for(
                keys, urls, hall, args.seed + seed, rebuy, pays, args.api, ls, args.best
            )

        web = daphne_pids(urls)
        before = measured(
            web,
            hammer_health("/health before", urls, args.concurrency, args.health_seconds),
        )
        jobs = start_profiles(web, args.profile) if args.profile else []
        try:
            capacity = measured(
                web,
                closed_loop(
                    "capacity",
                    shoppers(0, pays=args.capacity_pays),
                    showtimes[0],
                    args.concurrency,
                    args.phase_limit,
                ),
            )
            for job, _ in jobs:
                job.wait(args.profile + 30)
        finally:
            for job, _ in jobs:
                if job.poll() is None:
                    job.terminate()
        c = capacity.hold_rate
        steady = measured(
            web,
            open_loop(
                "steady",
                shoppers(1),
                showtimes[1],
                args.rate or STEADY_LOAD * c,
                args.phase_limit,
            ),
        )
        overload = measured(
            web,
            open_loop("overload", shoppers(2), showtimes[2], OVERLOAD * c, args.phase_limit),
        )
        after = measured(
            web,
            hammer_health("/health after", urls, args.concurrency, args.health_seconds),
        )
        result = audit(
            showtimes,
            {ref for phase in (capacity, steady, overload) for ref in phase.stats.paid},
            stripe,
            urls,
        )
        connections.close_all()

    report_health(before, args.concurrency)
    report_sale(capacity, f"CLOSED loop, {args.concurrency} clients")
    report_sale(steady, f"OPEN loop at {steady.rate:.1f}/s = {steady.rate / c:.2f} x C")
    report_sale(overload, f"OPEN loop at {overload.rate:.1f}/s = {OVERLOAD} x C")
    report_health(after, args.concurrency)
    health = (before.rps + after.rps) / 2
    ratio = c / health
    print(
        f"\nthroughput: /health {health:.0f} req/s (mean of before and after); hold capacity "
        f"C = {c:.1f} holds/s -> ratio {ratio:.2f}"
    )

    unsettled = report_audit(result, hall.size)
    sales = (capacity, steady, overload)
    facts = result["showtimes"]
    tickets = sum(f["tickets"] for f in facts.values())
    tickets_ok = all(
        f["tickets"] == f["confirmed_seats"] == f["paid_seats"]
        and f["paid"] == f["paid_confirmed"] + f["paid_refunded"]
        and not f["mismatched"]
        for f in facts.values()
    )
    paid_seats = sum(f["paid_seats"] for f in facts.values())
    pending = sum(f["statuses"].get("pending", 0) for f in facts.values())
    errors_500 = {phase.name: phase.stats.server_errors()[500] for phase in (before, *sales, after)}
    steady_holds = steady.stats.ms("hold")
    steady_pays = steady.stats.ms("pay", "gateway")
    overload_p99 = pct(overload.stats.ms(), 0.99)
    overload_sold = facts[overload.showtime]["tickets"]

    print("\ntargets:")
    print(f"  {verdict(ratio >= CAPACITY_RATIO)}  C >= {CAPACITY_RATIO} x /health ({ratio:.2f})")
    print(
        f"  {verdict(pct(steady_holds, 0.99) <= STEADY_P99_MS)}  at {STEADY_LOAD} x C: hold p99 "
        f"<= {STEADY_P99_MS:.0f} ms ({pct(steady_holds, 0.99):.1f} ms at {steady.offered:.1f}/s "
        "offered)"
    )
    print(
        f"  {verdict(pct(steady_pays, 0.99) <= STEADY_P99_MS)}  at {STEADY_LOAD} x C: pay p99 "
        f"<= {STEADY_P99_MS:.0f} ms ({pct(steady_pays, 0.99):.1f} ms)"
    )
    if steady.offered < 0.9 * steady.rate:
        print(f"        (offered fell short of {steady.rate:.1f}/s: too few idle users)")
    print(f"  {verdict(result['doubles'] == 0)}  no seat in two tickets ({result['doubles']})")
    print(f"  {verdict(not any(errors_500.values()))}  no 500 in any phase {errors_500}")
    print(
        f"  {verdict(tickets_ok)}  tickets = seats of confirmed bookings = seats of the bookings "
        f"the clients paid for ({tickets} tickets, {paid_seats} seats paid for; "
        f"{sum(f['paid_refunded'] for f in facts.values())} paid too late, refunded in full)"
    )
    print(f"  {verdict(pending == 0)}  no PENDING booking after the sweeper ({pending})")
    print(
        f"  {verdict(unsettled == 0)}  every charge of the gateway confirmed or refunded "
        f"({unsettled} unsettled)"
    )
    print(
        f"  {verdict(errors_500['overload'] == 0)}  at {OVERLOAD} x C: no 500 "
        f"({errors_500['overload']})"
    )
    print(
        f"  {verdict(overload_p99 <= OVERLOAD_P99_MS)}  at {OVERLOAD} x C: p99 of every "
        f"response <= {OVERLOAD_P99_MS:.0f} ms ({overload_p99:.1f} ms)"
    )
    print(
        f"  {verdict(overload_sold == hall.size)}  at {OVERLOAD} x C: showtime sold out "
        f"({overload_sold}/{hall.size})"
    )
    if jobs:
        summarize_profile([out for _, out in jobs])


if __name__ == "__main__":
    main()
