"""On-sale rush over HTTP: hundreds of signed-in users race for one 478-seat showtime.

    .venv/bin/python bench/rush.py [--users 500] [--rate 200] [--concurrency 16] [--quick]
    .venv/bin/python bench/rush.py --profile 10     # also py-spy both daphnes (capacity phase)

Starts the product with `tests/e2e/stack.py` (migrate, seed_demo, TWO daphne processes and the
hold sweeper, HOLD_TTL_SECONDS=30) on its own PostgreSQL database `bench_rush` (dropped and
created again at the start) and Redis db 13 (emptied at the start). The users and their
sessions are written straight into the database (a session like `Client.force_login` makes;
no sign-in form, so no sign-in rate limit); CSRF is a 32-character cookie this script sets and
echoes in X-CSRFToken. Users are spread half and half over the two daphnes.

A user wants 1 to 4 seats, drawn towards the centre of the middle rows ("best rows"), adjacent
in a row when its picture of the hall allows. It POSTs the hold; on 303 it starts paying and posts
the mock gateway's page (a test card: two pay requests; the gateway's webhook confirms) and
is done; on 409 it reads the seat map in the re-rendered page (as a browser shows it), picks
again and comes back later; it gives up when that map shows no seat available (sold out).

Phases, one server, one run:
1. /health: `--concurrency` closed-loop clients for `--health-seconds` (also again at the end).
2. rush, OPEN loop, on the first upcoming showtime of "Screen 1 · Grand": hold attempts start at
   a fixed `--rate` per second (evenly spaced), each by the user idle longest, with as many in
   flight as needed; a successful hold's pay follows at once and is not counted in the rate.
   Runs until every user is done. Latency is from sending the request to the body read.
3. capacity, CLOSED loop, on the next Grand showtime with the same users: `--concurrency`
   clients back to back (hold, and pay on success) until sold out: the hold capacity of the
   server, compared with /health at the same concurrency (the ratio the targets name).
4. audit (SQL): no seat in two tickets, tickets == seats of confirmed bookings, no PENDING
   booking once the sweeper has run (waits up to the hold TTL), seats sold vs the hall.
"""

import argparse
import asyncio
import math
import os
import random
import re
import secrets
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REDIS_URL = "redis://127.0.0.1:6379/13"
DB_NAME = "bench_rush"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HALL = "Screen 1 · Grand"
HOLD_TTL = 30
CARD = "4242 4242 4242 4242"
CSRF = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
SEAT_RE = re.compile(r'id="seat-([A-Z]+\d+)"[^>]*?title="[A-Z]+\d+: (\w+)"')
TARGET_P99_MS = 100.0
TARGET_RATE = 200.0
TARGET_RATIO = 0.5

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
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


def load_hall() -> tuple[Hall, list[int]]:
    from datetime import timedelta

    from django.utils import timezone

    from cinema.models import Seat, Showtime

    soon = timezone.now() + timedelta(hours=1)
    showtimes = list(
        Showtime.objects.upcoming()
        .filter(auditorium__name=HALL, on_sale=True, starts_at__gt=soon)
        .values_list("pk", flat=True)[:2]
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
    latency: dict[str, list[float]] = field(default_factory=dict)
    status: Counter = field(default_factory=Counter)
    sold: list[str] = field(default_factory=list)

    def add(self, kind: str, status: int, seconds: float) -> None:
        self.latency.setdefault(kind, []).append(seconds * 1000)
        self.status[(kind.split(" ")[0], status)] += 1


class Shopper:
    def __init__(self, *, key: str, base: str, hall: Hall, rng: random.Random, rebuy: bool):
        self.key = key
        self.rebuy = rebuy
        self.base = base
        self.hall = hall
        self.rng = rng
        self.want = rng.randint(1, 4)
        self.free = set(hall.weight)  # what this user believes is available
        self.done = False
        self.attempts = 0

    def headers(self) -> dict:
        return {
            "Cookie": f"sessionid={self.key}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Origin": self.base,
        }

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
        if windows:
            return self.rng.choice(windows)
        nearest = sorted(
            (label for label in row if label in self.free), key=lambda s: abs(row.index(s) - i)
        )
        return nearest[:count]

    def see(self, page: str) -> None:
        """Update the picture of the hall from a re-rendered seat map."""
        states = dict(SEAT_RE.findall(page))
        if states:
            self.free = {
                label
                for label, state in states.items()
                if state in ("available", "mine") and label in self.hall.weight
            }

    async def attempt(self, http: aiohttp.ClientSession, showtime: int, stats: Stats) -> None:
        """One hold attempt (and the pay after a successful one)."""
        self.attempts += 1
        labels = self.choose()
        started = time.perf_counter()
        async with http.post(
            f"{self.base}/showtimes/{showtime}/hold/",
            data=[("seats", label) for label in labels],
            headers=self.headers(),
            allow_redirects=False,
        ) as response:
            body = await response.text()
            status, location = response.status, response.headers.get("Location", "")
        elapsed = time.perf_counter() - started
        if status == 303:
            stats.add("hold ok", status, elapsed)
            started = time.perf_counter()
            async with http.post(
                f"{self.base}{location}pay/",
                headers=self.headers(),
                allow_redirects=False,
            ) as response:
                await response.read()
                pay_status, gateway = response.status, response.headers.get("Location", "")
            stats.add("pay", pay_status, time.perf_counter() - started)
            if pay_status != 303:
                return
            # The mock gateway's page, served by the same daphne; its webhook confirms later.
            started = time.perf_counter()
            async with http.post(
                f"{self.base}{gateway}",
                data={"card": CARD, "exp": "12/39", "cvc": "123"},
                headers=self.headers(),
                allow_redirects=False,
            ) as response:
                await response.read()
                paid_status = response.status
            stats.add("pay", paid_status, time.perf_counter() - started)
            if paid_status == 303:
                stats.sold.extend(labels)
                self.free -= set(labels)
                self.want = self.rng.randint(1, 4)
                self.done = not self.rebuy or not self.free
            return
        if status == 409:
            stats.add("hold conflict", status, elapsed)
            self.see(body)
            if not self.free:
                self.done = True
            return
        stats.add("hold other", status, elapsed)


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=2000),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    )


def shoppers_for(
    keys: list[str], urls: list[str], hall: Hall, seed: int, rebuy: bool
) -> list[Shopper]:
    rng = random.Random(seed)
    return [
        Shopper(
            key=key,
            base=urls[n % len(urls)],
            hall=hall,
            rng=random.Random(rng.random()),
            rebuy=rebuy,
        )
        for n, key in enumerate(keys)
    ]


async def hammer_health(urls: list[str], concurrency: int, seconds: float) -> dict:
    stats = Stats()
    async with new_session() as http:
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            url = f"{urls[n % len(urls)]}/health"
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with http.get(url) as response:
                    await response.read()
                stats.add("health", response.status, time.perf_counter() - started)

        began = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    lat = stats.latency["health"]
    return {
        "rps": len(lat) / elapsed,
        "count": len(lat),
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "status": stats.status,
        "client_cpu": (time.process_time() - cpu) / elapsed,
    }


async def rush_open(shoppers: list[Shopper], showtime: int, rate: float, limit: float) -> dict:
    """Hold attempts start every 1/rate s, each by the user idle longest; any number in flight."""
    stats = Stats()
    idle = deque(shoppers)
    flying: set[asyncio.Task] = set()
    issued = skipped = 0
    lags = []

    async def run(shopper: Shopper) -> None:
        try:
            await shopper.attempt(http, showtime, stats)
        except (aiohttp.ClientError, TimeoutError) as error:
            stats.status[("error", type(error).__name__)] += 1
        if not shopper.done:
            idle.append(shopper)

    async with new_session() as http:
        began = last_issue = time.perf_counter()
        cpu = time.process_time()
        slot = 0
        while idle or flying:
            target = began + slot / rate
            slot += 1
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if target - began > limit:
                break
            lags.append((time.perf_counter() - target) * 1000)
            if not idle:
                skipped += 1
                continue
            issued += 1
            last_issue = time.perf_counter()
            task = asyncio.create_task(run(idle.popleft()))
            flying.add(task)
            task.add_done_callback(flying.discard)
        if flying:
            await asyncio.gather(*flying)
        elapsed = time.perf_counter() - began
    return {
        "stats": stats,
        "elapsed": elapsed,
        "issued": issued,
        "issue_window": last_issue - began,
        "skipped": skipped,
        "lag_p99": pct(lags, 0.99),
        "lag_max": max(lags),
        "client_cpu": (time.process_time() - cpu) / elapsed,
    }


async def rush_closed(shoppers: list[Shopper], showtime: int, concurrency: int) -> dict:
    """`concurrency` clients, each running one user's attempt after another, until sold out."""
    stats = Stats()
    idle = deque(shoppers)
    busy = 0

    async def worker() -> None:
        nonlocal busy
        while True:
            if not idle:
                if busy == 0:
                    return
                await asyncio.sleep(0.002)
                continue
            shopper = idle.popleft()
            busy += 1
            try:
                await shopper.attempt(http, showtime, stats)
            except (aiohttp.ClientError, TimeoutError) as error:
                stats.status[("error", type(error).__name__)] += 1
            busy -= 1
            if not shopper.done:
                idle.append(shopper)

    async with new_session() as http:
        began = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {"stats": stats, "elapsed": elapsed, "client_cpu": (time.process_time() - cpu) / elapsed}


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


def audit(showtimes: list[int], hall: Hall) -> dict:
    from django.db import connection

    from bookings.models import Booking

    deadline = time.monotonic() + HOLD_TTL + 15
    waited = time.monotonic()
    while Booking.objects.filter(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    waited = time.monotonic() - waited
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM bookings_ticket "
            "GROUP BY showtime_id, seat_id HAVING count(*) > 1) AS twice"
        )
        (doubles,) = cursor.fetchone()
        result = {"doubles": doubles, "waited": waited, "showtimes": {}}
        for showtime in showtimes:
            cursor.execute(
                "SELECT count(*) FROM bookings_ticket WHERE showtime_id = %s", [showtime]
            )
            (tickets,) = cursor.fetchone()
            cursor.execute(
                "SELECT coalesce(sum(jsonb_array_length(seat_labels)), 0), count(*) "
                "FROM bookings_booking WHERE showtime_id = %s AND status = 'confirmed'",
                [showtime],
            )
            confirmed_seats, confirmed = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM bookings_booking b WHERE b.showtime_id = %s AND "
                "(SELECT count(*) FROM bookings_ticket t WHERE t.booking_id = b.id) <> "
                "CASE WHEN b.status = 'confirmed' THEN jsonb_array_length(b.seat_labels) "
                "ELSE 0 END",
                [showtime],
            )
            (mismatched,) = cursor.fetchone()
            cursor.execute(
                "SELECT status, count(*) FROM bookings_booking WHERE showtime_id = %s "
                "GROUP BY status",
                [showtime],
            )
            statuses = dict(cursor.fetchall())
            result["showtimes"][showtime] = {
                "tickets": tickets,
                "confirmed_seats": confirmed_seats,
                "confirmed": confirmed,
                "mismatched": mismatched,
                "statuses": statuses,
            }
    return result


def start_profiles(pids: list[int], seconds: int) -> list[tuple[subprocess.Popen, str]]:
    spy = str(ROOT / ".venv" / "bin" / "py-spy")
    jobs = []
    for pid in pids:
        out = str(Path(tempfile.gettempdir()) / f"rush-profile-{pid}.txt")
        command = [spy, "record", "-d", str(seconds), "-r", "100", "-f", "raw", "-o", out]
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
PRODUCT = tuple(f"({package}/" for package in ("bookings", "seats", "cinema", "config", "audit"))
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
        return f"  {name:<15} n=0"
    return (
        f"  {name:<15} n={len(values):<5} p50 {pct(values, 0.5):6.1f} ms  "
        f"p90 {pct(values, 0.9):6.1f} ms  p99 {pct(values, 0.99):6.1f} ms  "
        f"max {max(values):6.1f} ms"
    )


def report_phase(title: str, result: dict) -> tuple[float, list[float]]:
    stats: Stats = result["stats"]
    lat = stats.latency
    holds = lat.get("hold ok", []) + lat.get("hold conflict", []) + lat.get("hold other", [])
    pays = lat.get("pay", [])
    elapsed = result["elapsed"]
    hold_rate = len(holds) / elapsed
    print(f"\n{title}")
    print(
        f"  sold out in {elapsed:.2f} s: {len(holds)} hold requests = {hold_rate:.1f} holds/s "
        f"({len(lat.get('hold ok', [])) / elapsed:.1f} successful/s), {len(pays)} pays; "
        f"all requests {(len(holds) + len(pays)) / elapsed:.1f}/s"
    )
    print(line("hold (all)", holds))
    print(line("hold 303 ok", lat.get("hold ok", [])))
    print(line("hold 409", lat.get("hold conflict", [])))
    if lat.get("hold other"):
        print(line("hold other", lat["hold other"]))
    print(line("pay", pays))
    statuses = ", ".join(f"{kind} {code}: {n}" for (kind, code), n in sorted(stats.status.items()))
    print(f"  statuses: {statuses}")
    print(f"  seats bought (client side): {len(stats.sold)}; client CPU {result['client_cpu']:.0%}")
    return hold_rate, holds


def server_errors(*counters: Counter) -> int:
    return sum(
        n
        for counter in counters
        for (_, code), n in counter.items()
        if isinstance(code, int) and code >= 500
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="offered holds/s")
    parser.add_argument("--concurrency", type=int, default=16, help="/health and capacity")
    parser.add_argument("--health-seconds", type=float, default=5.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="HOLD_RATE_LIMIT per minute")
    parser.add_argument(
        "--conn-max-age", type=int, default=0, help="DATABASE_CONN_MAX_AGE for the servers"
    )
    parser.add_argument("--profile", type=int, default=0, help="py-spy seconds (capacity)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50 users (who buy again), 2 s health"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.users, args.health_seconds = 50, 2.0
    # Users want 2.5 seats on average: too few users to sell the hall out buy again.
    rebuy = args.users * 2.5 < 1.5 * 478

    reset_stores()
    django.setup()
    from django.db import connections

    extra_env = {}
    if args.rate_limit:
        extra_env["HOLD_RATE_LIMIT"] = str(args.rate_limit)
    if args.conn_max_age:
        extra_env["DATABASE_CONN_MAX_AGE"] = str(args.conn_max_age)
    print(
        f"rush: {args.users} users, offered {args.rate:.0f} holds/s (open loop), "
        f"/health and capacity at concurrency {args.concurrency}; 2 daphnes, PostgreSQL "
        f"{DB_NAME}, Redis db 13, hold TTL {HOLD_TTL} s, "
        f"HOLD_RATE_LIMIT {args.rate_limit or 1000}/min, "
        f"DATABASE_CONN_MAX_AGE {args.conn_max_age}"
    )
    with running_stack(
        redis_url=REDIS_URL,
        hold_ttl=HOLD_TTL,
        web_processes=2,
        database_url=DATABASE_URL,
        extra_env=extra_env,
    ) as urls:
        keys = make_users(args.users)
        hall, showtimes = load_hall()
        connections.close_all()
        if len(showtimes) < 2:
            raise SystemExit("need two upcoming showtimes of the Grand")
        print(
            f"hall {HALL}: {hall.size} seats in {len(hall.rows)} rows; showtimes {showtimes} "
            f"(rush, capacity); servers {', '.join(urls)}"
        )
        asyncio.run(warm_up(urls, showtimes))

        health_before = asyncio.run(hammer_health(urls, args.concurrency, args.health_seconds))
        rush = asyncio.run(
            rush_open(
                shoppers_for(keys, urls, hall, args.seed, rebuy), showtimes[0], args.rate, 600
            )
        )
        jobs = start_profiles(daphne_pids(urls), args.profile) if args.profile else []
        capacity_shoppers = shoppers_for(keys, urls, hall, args.seed + 1, rebuy)
        capacity = asyncio.run(rush_closed(capacity_shoppers, showtimes[1], args.concurrency))
        health_after = asyncio.run(hammer_health(urls, args.concurrency, args.health_seconds))
        for job, _ in jobs:
            job.wait(args.profile + 30)
        result = audit(showtimes, hall)
        connections.close_all()

    for name, health in (("before", health_before), ("after", health_after)):
        print(
            f"/health {name}: {health['rps']:.0f} req/s at concurrency {args.concurrency} "
            f"({health['count']} in {args.health_seconds:.0f} s), p50 {health['p50']:.1f} ms, "
            f"p99 {health['p99']:.1f} ms, statuses {dict(health['status'])}, "
            f"client CPU {health['client_cpu']:.0%}"
        )
    health_rps = (health_before["rps"] + health_after["rps"]) / 2
    rush_rate, rush_holds = report_phase(
        f"rush (open loop, offered {args.rate:.0f} holds/s, showtime {showtimes[0]})", rush
    )
    offered = rush["issued"] / rush["issue_window"] if rush["issue_window"] else 0.0
    print(
        f"  issued {rush['issued']} hold attempts over {rush['issue_window']:.2f} s = "
        f"{offered:.1f}/s actually offered; {rush['skipped']} slots found no idle user; "
        f"scheduler lag p99 {rush['lag_p99']:.1f} ms, max {rush['lag_max']:.1f} ms"
    )
    capacity_rate, _ = report_phase(
        f"capacity (closed loop, {args.concurrency} clients, showtime {showtimes[1]})", capacity
    )
    ratio = capacity_rate / health_rps
    print(
        f"\nthroughput: /health {health_rps:.0f} req/s (mean of before and after); hold capacity "
        f"{capacity_rate:.1f} holds/s -> ratio {ratio:.2f}; open-loop rush achieved "
        f"{rush_rate:.1f} holds/s -> {rush_rate / health_rps:.2f} of /health"
    )

    print(f"\naudit (after waiting {result['waited']:.1f} s for the sweeper):")
    print(f"  (showtime, seat) in two tickets: {result['doubles']}")
    sold_by_showtime = {}
    for showtime, facts in result["showtimes"].items():
        sold_by_showtime[showtime] = facts["tickets"]
        print(
            f"  showtime {showtime}: {facts['tickets']} tickets / {hall.size} seats, "
            f"confirmed bookings {facts['confirmed']} with {facts['confirmed_seats']} seats, "
            f"bookings whose tickets != their seats {facts['mismatched']}, "
            f"statuses {facts['statuses']}"
        )
    counters = [
        rush["stats"].status,
        capacity["stats"].status,
        health_before["status"],
        health_after["status"],
    ]
    errors = server_errors(*counters)
    transport = sum(n for c in counters for (kind, _), n in c.items() if kind == "error")
    limited = sum(n for c in counters for (_, code), n in c.items() if code == 429)
    print(f"  5xx responses: {errors}; transport errors: {transport}; 429 responses: {limited}")
    if limited:
        print("  users were rate limited: run again with --rate-limit 100000")
    pending = sum(f["statuses"].get("pending", 0) for f in result["showtimes"].values())
    tickets_ok = all(
        f["tickets"] == f["confirmed_seats"] and not f["mismatched"]
        for f in result["showtimes"].values()
    )
    client_sold = len(rush["stats"].sold) + len(capacity["stats"].sold)
    hold_p99 = pct(rush_holds, 0.99)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print("\ntargets:")
    print(f"  {verdict(result['doubles'] == 0)}  no seat in two tickets")
    print(f"  {verdict(errors == 0)}  no server errors (5xx: {errors})")
    print(
        f"  {verdict(tickets_ok and client_sold == sum(sold_by_showtime.values()))}  tickets = "
        f"seats of confirmed bookings = seats the clients paid for ({client_sold})"
    )
    print(f"  {verdict(pending == 0)}  no PENDING booking after the sweeper ({pending})")
    print(
        f"  {verdict(sold_by_showtime[showtimes[1]] == hall.size)}  capacity showtime sold out "
        f"({sold_by_showtime[showtimes[1]]}/{hall.size}); rush showtime "
        f"{sold_by_showtime[showtimes[0]]}/{hall.size}"
    )
    print(
        f"  {verdict(ratio >= TARGET_RATIO)}  hold capacity >= {TARGET_RATIO} x /health "
        f"({ratio:.2f})"
    )
    print(
        f"  {verdict(hold_p99 <= TARGET_P99_MS and offered >= TARGET_RATE)}  hold p99 <= "
        f"{TARGET_P99_MS:.0f} ms at >= {TARGET_RATE:.0f} holds/s offered "
        f"(p99 {hold_p99:.1f} ms at {offered:.1f}/s)"
    )
    if jobs:
        summarize_profile([out for _, out in jobs])


if __name__ == "__main__":
    main()
