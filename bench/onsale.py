"""On-sale with and without the waiting room: the same rush of buyers, the room off, then on.

    .venv/bin/python bench/onsale.py                 # 5,000 buyers in 10 s, 1,000 before on-sale
    .venv/bin/python bench/onsale.py --quick         # smoke run: 500 buyers, 100 before on-sale
    .venv/bin/python bench/onsale.py --max-active 150 --rate 600 --watchers 5000 --timeout 1800

Starts the product as `bench/rush.py` does (`tests/e2e/stack.py` in production mode: DEBUG=0,
collected static files, the mock gateway, TWO daphne processes, the hold sweeper with
HOLD_TTL_SECONDS=30) plus the waiting room's worker (`manage.py run_waiting_room`, a pass every
0.5 s), on its own PostgreSQL database `bench_onsale` (ONSALE_DB_NAME; dropped and created again
at the start) and Redis db 13 (RUSH_REDIS_URL; emptied at the start). The buyers are rush.py's
users (written straight into the database with a signed-in session each, CSRF by cookie,
X-CSRFToken and Origin; then what signing in also leaves: the session in the cache and the
member known to the waiting room's edge, as for buyers who signed in before the sale) and
rush.py's shoppers: 1 to 4 seats towards the centre of the best rows, held as htmx does, paid
(POST /bookings/<ref>/pay/, then the mock gateway's page with a test card; its webhook
confirms), picked again after a 409 from the seat states in the answer, after a think time
of 0.5 to 2 s. A busy answer (503, 429) is tried again after its Retry-After as a browser does
(the busy page reloads itself, or sends the form or the htmx request again, after it: 3 to 7 s
from this server); rush.py caps that pause at 1 s for its 500 users, which with 5,000 buyers
is a storm of retries of the client's making (a first full run had ~1,000 busy answers a
second), so here `--max-pause` (default 60 s, in effect no cap; 1 is rush.py's) caps it.
A buyer gives up when the map in a 409 shows no seat available. Buyers alternate between the
two daphnes. Unlike rush.py's pool of at most 2,000 connections, the client opens as many as
its buyers need, as browsers do (each its own): a first full run with that pool had requests
parked in the queue page's lane at the server (up to 30 s) hold every connection, so admitted
buyers' holds waited in the client for one and joins left the client out of arrival order.

Arrivals: `--buyers` (5,000) within `--arrival-seconds` (10): `--early` (1,000) evenly over the
`--early-seconds` (2) before the on-sale time, the rest evenly over the seconds after it, in one
seeded random order of the users. Two sales, each on its own upcoming Grand showtime (478
seats), one after the other on the same servers; the showtime's `on_sale_at` is set to the
on-sale moment, a few seconds ahead, before its sale starts.

1. Room OFF. A buyer arriving before on-sale keeps refreshing until it opens, so every early
   buyer sends its first hold at the on-sale moment; later ones at their arrival. Each shops
   until it has bought or sees the hall sold out.
2. Room ON: the showtime's WaitingRoom `on`, `max_active` (`--max-active`, default the model's
   150) and `admit_per_minute` (`--rate`, default 600). At its arrival a buyer
   GETs /showtimes/<id>/queue/ (joining; the answer sets its signed claim cookie `wr<id>`), then
   opens the WebSocket /ws/queue/<id>/ with its session cookie and Origin and waits for "It is
   your turn."; it then GETs the queue page with ?go=1 as htmx does, which answers with
   HX-Redirect to the seat map and sets the admission token in the same cookie, shops as above
   with the cookie,
   and closes its WebSocket. It does what the page does in a browser (static/js/queue.js,
   busy.js, htmx's ws extension): while its socket is down (it did not open, or the server
   closed it) it polls the queue page every 2 s as htmx and opens the socket again after a
   random part of 1 s x 2^n for the n-th failure in a row (at most 64 s); a busy answer to the
   plain GET or to the admission GET is sent again after its Retry-After, with the cookies it
   set (a busy queue GET's `knocked`: when it first knocked), a busy poll is not (the next poll
   comes anyway). The first `--watchers` buyers (all by default) use the
   WebSocket, the others only poll. When the database has every seat of the hall sold, buyers
   still queued stop (their sockets are closed); buyers who arrive later still join, then stop.
3. Fairness, after the room-on sale: `manage.py waiting_room resume <id> --max-active 100000
   --rate 1000000` lets everyone still queued in within a few passes of the worker; the
   admission order is read back from the `waiting_room_admitted` audit events (by id, their
   `members` in order) and compared with the order in which this script sent each buyer's first
   queue GET. Kendall's tau (inversions counted by merge sort, O(n log n)) over the buyers who
   arrived after on-sale (target >= 0.99: first come, first served), and over the early buyers
   (target |tau| < 0.1: the pre-queue is one random order, so arriving first there gains
   nothing). The signed claim each buyer was given says whether the server put it in the
   pre-queue (a random score below 1) or behind it (a score above 1): early buyers whose GET
   reached the server after on-sale are counted. A queue GET answered busy (503) is sent again
   after its Retry-After (joining from when it first knocked, as its `knocked` cookie says), so
   tau is also given against the order in which the GETs that joined were sent, and against
   the room's own order (the scores in the claims), which it should follow exactly unless it
   lets people in before others who came earlier are in the queue.
4. The audit of both sales (rush.audit, SQL): no seat in two tickets, tickets = seats of
   confirmed bookings, no PENDING booking left once the sweeper has run, every charge of the
   gateway a confirmed booking or a refund; a booking the clients paid for but whose hold ran
   out first (busy answers while paying) and whose seats were sold meanwhile is refunded by the
   product (its late-success rule), and counted.

Measured per sale: hold latency p50/p99 (with the room on only admitted buyers can hold, so
these are theirs), the other requests' latency, 5xx by status, every status, requests per second
over the sale (from the first request sent to the last buyer done), the time to sell out (the
last ticket's `sold_at` minus the on-sale time, from the database), tickets sold, buyers who
bought, gave up or stopped; with the room on also the position updates (for every message on a
WebSocket carrying `data-at`, the moment of the worker's pass: receive time minus it, on this
machine's one clock; the message sent on connect carries none and is counted apart), how many
buyers were let in and how long they queued; CPU per request by part (rush.measured, /proc).
Latency is from sending a request to having read its body (connecting included), as in rush.py;
a request with no answer in 60 s counts as TimeoutError.

Interrupted (Ctrl-C, SIGTERM) or past `--timeout` seconds, it stops the servers it started and
exits non-zero (130, 128 + the signal, or 124).
"""

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# rush.py sets the environment this process and the servers share (settings, the SECRET_KEY
# that signs the sessions, Redis db 13, the hold TTL); only the database is this script's own.
from bench import rush

DB_NAME = os.environ.get("ONSALE_DB_NAME", "bench_onsale")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["DATABASE_URL"] = DATABASE_URL

import aiohttp
import django
import psycopg
import redis

from tests.e2e.stack import daphne_pids, running_stack

THINK = (0.5, 2.0)  # seconds a buyer takes to pick again after a 409
POLL_SECONDS = 2.0  # the queue page's polling without its WebSocket
WORKER_INTERVAL = 0.5  # run_waiting_room --interval in tests/e2e/stack.py
SETTLE = 3.0  # seconds between the sales, for the sweeper and the servers to calm down
TURN = "It is your turn."
AT = re.compile(r'data-at="(\d+)"')

HOLD_P99_MS = 150.0
UPDATE_P99_MS = 1000.0
SELL_OUT_RATIO = 1.5
TAU_POST = 0.99
TAU_PRE = 0.1


def sign_in(keys: list[str]) -> None:
    """What signing in leaves besides the session row rush.make_users writes: the session in
    the cache of the cached_db store, and the member the waiting room's edge knows
    (waitingroom.apps): buyers signed in before the sale, as a browser's would be."""
    from django.contrib.auth import SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.cached_db import SessionStore

    from waitingroom import remembered

    users = get_user_model().objects.in_bulk(field_name="pk")
    for key in keys:
        session = SessionStore(key)
        session.load()
        remembered.remember_member(users[int(session[SESSION_KEY])])


def reset_stores() -> None:
    with psycopg.connect(rush.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    redis.Redis.from_url(rush.REDIS_URL).flushdb()


# ---------------------------------------------------------------------------------------------
# Buyers.


class Buyer(rush.Shopper):
    """A rush.py shopper who arrives at a set moment and may have to queue first."""

    def __init__(self, *, index: int, user_id: int, arrival: float, early: bool, **shopper):
        super().__init__(**shopper)
        self.index = index
        self.user_id = user_id
        self.arrival = arrival  # seconds after the on-sale moment (negative: before)
        self.early = early
        self.stats = rush.Stats()
        # The waiting room's cookies as a browser keeps them: "wr<id>" (the signed claim or
        # admission token) and "knocked" (when a busy answer said its queue GET first knocked).
        self.room_cookies: dict[str, str] = {}
        self.order: int | None = None  # when its first queue GET was sent, among all buyers
        self.answered: int | None = None  # when the queue GET that joined (200) was sent
        self.prequeued: bool | None = None  # what the server's claim says
        self.score: float | None = None  # the place's score in that claim
        self.sent_at = 0.0  # perf_counter of its first request
        self.admitted_after: float | None = None  # seconds from joining to being let in
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.waiting = False  # queued, not yet let in
        self.outcome = "cut off"
        self.lateness = 0.0  # ms its arrival started after its scheduled moment
        self.updates: list[float] = []  # ms from the worker's pass to this buyer's message
        self.snapshots = 0  # messages without data-at (the place on connect)

    def cookies(self) -> str:
        room = "".join(f"; {name}={value}" for name, value in self.room_cookies.items())
        return f"sessionid={self.key}; csrftoken={rush.CSRF}{room}"

    async def post(self, http, stats, kind, url, **extra):
        """rush.Shopper.post with the waiting room's cookie too."""
        extra["headers"] = {"Cookie": self.cookies(), **extra.get("headers", {})}
        return await super().post(http, stats, kind, url, **extra)

    async def get(self, http, kind: str, url: str, htmx: bool = False) -> tuple[int, dict, str]:
        """One GET, timed and counted; keeps the waiting room's cookie if the answer sets it."""
        headers = {"Cookie": self.cookies()}
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            async with http.get(
                urljoin(self.base, url), headers=headers, allow_redirects=False
            ) as response:
                body = await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            self.stats.add(kind, type(error).__name__, time.perf_counter() - started)
            return 0, {}, ""
        self.stats.add(kind, response.status, time.perf_counter() - started)
        for name, morsel in response.cookies.items():
            if name.startswith("wr") or name == "knocked":
                self.room_cookies[name] = morsel.value
        return response.status, response.headers, body

    async def shop(self, http, showtime: int, stop: "Sale") -> str:
        """Hold and pay, picking again after a 409, until bought or sold out; "lapsed" when the
        hold is refused for want of an admission (403) so the buyer must queue again."""
        while time.monotonic() < stop.deadline:
            before = len(self.stats.requests)
            pause = await self.turn(http, showtime, self.stats)
            if self.done:
                return "bought" if self.stats.paid else "gave up"
            hold = next(
                (code for kind, code, _ in self.stats.requests[before:] if kind == "hold"), 0
            )
            if pause:
                await asyncio.sleep(pause)
            elif hold == 409:
                await asyncio.sleep(self.rng.uniform(*THINK))
            elif hold == 403 and stop.room:
                return "lapsed"
            else:
                await asyncio.sleep(0.5)
        return "cut off"


def make_buyers(args, keys: list[str], user_ids: list[int], urls: list[str], hall) -> list[Buyer]:
    """Every user a buyer, with its arrival: the early ones evenly over the seconds before
    on-sale, the rest evenly after it, in a seeded random order of the users."""
    rng = random.Random(args.seed)
    late = args.buyers - args.early
    after = args.arrival_seconds - args.early_seconds
    moments = [-args.early_seconds + args.early_seconds * n / args.early for n in range(args.early)]
    moments += [after * n / late for n in range(late)]
    slots = list(range(args.buyers))
    rng.shuffle(slots)
    rebuy = args.buyers * 2.5 < 1.5 * hall.size  # as in rush.py: too few to sell out buy again
    return [
        Buyer(
            index=n,
            user_id=user_ids[n],
            arrival=moments[slots[n]],
            early=moments[slots[n]] < 0,
            key=keys[n],
            base=urls[n % len(urls)],
            hall=hall,
            rng=random.Random(rng.random()),
            rebuy=rebuy,
        )
        for n in range(args.buyers)
    ]


# ---------------------------------------------------------------------------------------------
# One sale.


@dataclass
class Sale(rush.Phase):
    room: bool = False
    on_sale: float = 0.0  # epoch seconds
    deadline: float = 0.0  # monotonic: the phase limit
    buyers: list[Buyer] = field(default_factory=list)
    sold_out_seen: float | None = None  # seconds after on-sale the client saw the hall full
    ws_opened: int = 0
    ws_failed: Counter = field(default_factory=Counter)
    ws_errors: Counter = field(default_factory=Counter)  # the failures' messages
    failures: list[BaseException] = field(default_factory=list)  # buyers' unexpected errors
    ws_lost: int = 0  # sockets that closed before the turn, not by this script
    lapsed: int = 0  # holds refused for want of an admission (403): back to the queue
    room_rate: int = 0  # the room's admissions a minute
    lag_p99_ms: float = 0.0


async def run_sale(sale: Sale, size: int, watchers: int) -> Sale:
    """The buyers of one sale, each at its arrival; ends when every buyer is done, or at the
    phase limit."""
    from waitingroom.services import cookie_name

    sold_out = asyncio.Event()
    loop = asyncio.get_running_loop()
    zero = loop.time() + (sale.on_sale - time.time())  # the on-sale moment on the loop's clock
    orders = iter(range(len(sale.buyers)))
    sends = iter(range(10**9))  # every queue GET a buyer sends to join
    queue_url = f"/showtimes/{sale.showtime}/queue/"
    cookie = cookie_name(sale.showtime)

    async def watch() -> None:
        """Every 0.2 s: has the database sold every seat? Then buyers still queued stop."""
        async with await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True) as db:
            while True:
                cursor = await db.execute(
                    "SELECT count(*) FROM bookings_ticket WHERE showtime_id = %s", [sale.showtime]
                )
                (sold,) = await cursor.fetchone()
                if sold >= size:
                    sale.sold_out_seen = time.time() - sale.on_sale
                    sold_out.set()
                    await asyncio.gather(*(close(b.ws) for b in sale.buyers if b.waiting))
                    return
                await asyncio.sleep(0.2)

    async def arrive(buyer: Buyer, at: float) -> None:
        delay = zero + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        buyer.lateness = (loop.time() - zero - at) * 1000
        buyer.sent_at = time.perf_counter()

    async def room_off(buyer: Buyer, http) -> None:
        # Early buyers keep refreshing the page until the sale opens: their first hold is then.
        await arrive(buyer, max(0.0, buyer.arrival))
        buyer.outcome = await buyer.shop(http, sale.showtime, sale)

    async def listen(buyer: Buyer) -> bool:
        """Read the socket until it says it is the buyer's turn (True), or it closes or breaks
        (False)."""
        try:
            async for message in buyer.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.time() * 1000
                at = AT.search(message.data)
                if at:
                    buyer.updates.append(now - int(at.group(1)))
                else:
                    buyer.snapshots += 1
                if TURN in message.data:
                    return True
        except (aiohttp.ClientError, TimeoutError) as error:
            # E.g. answering the server's ping on a connection it is closing.
            sale.ws_errors[f"while open: {type(error).__name__}: {error}"[:100]] += 1
            await close(buyer.ws)
        return False

    async def pause_until(moment: float) -> None:
        """Sleep until `moment` (monotonic), or until the hall is sold out."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sold_out.wait(), max(0.0, moment - time.monotonic()))

    async def enter(buyer: Buyer, http) -> bool:
        """GET the queue page until it answers: that joins. A busy page reloads itself after
        its Retry-After."""
        while time.monotonic() < sale.deadline:
            sent = next(sends)
            status, headers, _ = await buyer.get(http, "queue", queue_url)
            if status == 200:
                if buyer.answered is None:
                    buyer.answered = sent
                    buyer.score = claim_score(buyer.room_cookies.get(cookie, ""))
                    buyer.prequeued = buyer.score < 1
                return True
            await asyncio.sleep(rush.pause(headers) if status in rush.BUSY else 1.0)
        return False

    async def take_admission(buyer: Buyer, http) -> bool:
        """On "It is your turn." the page GETs itself with ?go=1 as htmx (a shopper's request,
        in the shoppers' lane at the edge): HX-Redirect to the seat map, with the admission
        token in the cookie. A busy answer is sent again after its Retry-After (busy.js); an
        answer without the redirect means not let in after all."""
        while not sold_out.is_set() and time.monotonic() < sale.deadline:
            status, headers, _ = await buyer.get(http, "admission", f"{queue_url}?go=1", htmx=True)
            if status == 200:
                return bool(headers.get("HX-Redirect"))
            await asyncio.sleep(rush.pause(headers) if status in rush.BUSY else 1.0)
        return False

    async def wait_turn(buyer: Buyer, http, socket_session) -> bool:
        """What the queue page does until it is the buyer's turn (True), or the hall is sold
        out or the sale over (False): listen on its WebSocket; while the socket is down poll
        every 2 s as htmx (an answer with HX-Redirect is the turn, the admission token in the
        cookie) and open it again after htmx's ws extension's delay: a random part of 1 s x
        2^n for the n-th retry in a row (at most 64 s), from 0 again once one opens."""
        retries = 0
        now = time.monotonic()
        next_poll = now + POLL_SECONDS
        next_connect = now if buyer.index < watchers else float("inf")
        while not sold_out.is_set() and time.monotonic() < sale.deadline:
            if buyer.ws is not None and not buyer.ws.closed:
                if await listen(buyer):
                    if await take_admission(buyer, http):
                        return True
                    continue
                if sold_out.is_set():
                    break
                sale.ws_lost += 1
                next_connect = time.monotonic() + buyer.rng.random()
                retries = 1
                # The page's polling, stood down while the socket was open, asks again.
                next_poll = time.monotonic() + buyer.rng.random() * POLL_SECONDS
                continue
            if time.monotonic() >= next_connect:
                buyer.ws = await open_socket(buyer, socket_session, sale)
                if buyer.ws is None:
                    next_connect = time.monotonic() + buyer.rng.random() * 2 ** min(retries, 6)
                    retries += 1
                else:
                    retries = 0
                    buyer.waiting = True  # a socket the sold-out watcher may close
                continue
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + POLL_SECONDS
                status, headers, _ = await buyer.get(http, "poll", queue_url, htmx=True)
                if status == 200 and headers.get("HX-Redirect"):
                    return True
            await pause_until(min(next_poll, next_connect))
        return False

    async def join(buyer: Buyer, http, socket_session) -> None:
        """Queue, wait for the turn, take the admission; then `shop` does the rest."""
        buyer.order = next(orders)
        joined = time.perf_counter()
        if not await enter(buyer, http):
            buyer.outcome = "could not join"
            return
        buyer.waiting = True
        try:
            while True:
                if not await wait_turn(buyer, http, socket_session):
                    buyer.outcome = "left the queue"
                    return
                buyer.waiting = False
                if buyer.admitted_after is None:
                    buyer.admitted_after = time.perf_counter() - joined
                buyer.outcome = await buyer.shop(http, sale.showtime, sale)
                if buyer.outcome != "lapsed":
                    return
                # Let in no longer (403, with a link to the queue): the queue page again.
                sale.lapsed += 1
                await close(buyer.ws)
                buyer.ws = None
                buyer.waiting = True
                if not await enter(buyer, http):
                    return
        finally:
            buyer.waiting = False
            await close(buyer.ws)

    async def room_on(buyer: Buyer, http, socket_session) -> None:
        await arrive(buyer, buyer.arrival)
        await join(buyer, http, socket_session)

    began, cpu = time.perf_counter(), time.process_time()
    # No limit on connections: see the module's docstring. HTTP and WebSockets share it.
    http = sockets = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    )
    async with http:
        watcher = asyncio.create_task(watch())
        if sale.room:
            tasks = [asyncio.create_task(room_on(b, http, sockets)) for b in sale.buyers]
        else:
            tasks = [asyncio.create_task(room_off(b, http)) for b in sale.buyers]
        _, pending = await asyncio.wait(tasks, timeout=sale.deadline - time.monotonic() + 30)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if not watcher.done():
            # Not sold out (yet): look once more for the report, then stop looking.
            await asyncio.sleep(0.5)
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                sale.failures.append(task.exception())
    first = min((b.sent_at for b in sale.buyers if b.sent_at), default=began)
    sale.elapsed = time.perf_counter() - first
    sale.client_cpu = (time.process_time() - cpu) / (time.perf_counter() - began)
    for buyer in sale.buyers:
        sale.stats.requests += buyer.stats.requests
        sale.stats.paid += buyer.stats.paid
        sale.stats.held += buyer.stats.held
    sale.lag_p99_ms = rush.pct([b.lateness for b in sale.buyers if b.sent_at], 0.99)
    return sale


async def close(ws: aiohttp.ClientWebSocketResponse | None) -> None:
    if ws is not None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            await ws.close()


async def open_socket(buyer: Buyer, session: aiohttp.ClientSession, sale: Sale):
    """The queue page's WebSocket with the buyer's session, or None (then it polls)."""
    url = f"{buyer.base.replace('http', 'ws', 1)}/ws/queue/{sale.showtime}/"
    started = time.perf_counter()
    try:
        ws = await session.ws_connect(
            url,
            headers={"Cookie": buyer.cookies()},
            origin=buyer.base,
            timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
        )
    except aiohttp.WSServerHandshakeError as error:
        buyer.stats.add("websocket", error.status, time.perf_counter() - started)
        sale.ws_failed[error.status] += 1
        return None
    except (aiohttp.ClientError, TimeoutError) as error:
        buyer.stats.add("websocket", type(error).__name__, time.perf_counter() - started)
        sale.ws_failed[type(error).__name__] += 1
        sale.ws_errors[f"{type(error).__name__}: {error}"[:100]] += 1
        return None
    buyer.stats.add("websocket", 101, time.perf_counter() - started)
    sale.ws_opened += 1
    return ws


def claim_score(value: str) -> float:
    """The queue score in the buyer's signed claim: below 1 a pre-queue place (a random draw),
    above 1 a place behind it (after on-sale); 1 if there is no claim."""
    from django.core import signing

    from waitingroom.services import SALT

    try:
        return float(signing.loads(value, salt=SALT).get("q") or 1)
    except (signing.BadSignature, ValueError, AttributeError):
        return 1.0


def prepare(showtime: int, *, on_sale: float, room: bool, max_active: int, rate: int) -> None:
    from cinema.models import Showtime
    from waitingroom.models import WaitingRoom

    Showtime.objects.filter(pk=showtime).update(on_sale_at=datetime.fromtimestamp(on_sale, tz=UTC))
    WaitingRoom.objects.update_or_create(
        showtime_id=showtime,
        defaults={"on": room, "max_active": max_active, "admit_per_minute": rate, "paused": False},
    )


def sell_out_seconds(showtime: int, on_sale: float) -> tuple[int, float | None]:
    """Tickets sold, and the last one's sold_at in seconds after on-sale (None if none)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(sold_at) FROM bookings_ticket WHERE showtime_id = %s", [showtime]
        )
        sold, last = cursor.fetchone()
    return sold, (last.timestamp() - on_sale) if last is not None else None


# ---------------------------------------------------------------------------------------------
# Fairness.


def inversions(values: list[int]) -> int:
    """Pairs i < j with values[i] > values[j], by merge sort: O(n log n)."""
    count = 0
    run = list(values)
    width = 1
    while width < len(run):
        merged = []
        for start in range(0, len(run), 2 * width):
            left, right = run[start : start + width], run[start + width : start + 2 * width]
            i = j = 0
            while i < len(left) and j < len(right):
                if right[j] < left[i]:
                    count += len(left) - i
                    merged.append(right[j])
                    j += 1
                else:
                    merged.append(left[i])
                    i += 1
            merged += left[i:]
            merged += right[j:]
        run = merged
        width *= 2
    return count


def kendall_tau(ranks: list[int]) -> tuple[float, int, int]:
    """Kendall's tau between a sequence's order and the order of its (distinct) values, with the
    discordant and all pairs."""
    n = len(ranks)
    pairs = n * (n - 1) // 2
    if not pairs:
        return float("nan"), 0, 0
    discordant = inversions(ranks)
    return 1 - 2 * discordant / pairs, discordant, pairs


def admission_order(showtime: int, after_id: int = 0) -> tuple[list[str], int]:
    """Members in the order the worker let them in (its audit events by id), and the last
    event's id."""
    from audit.models import AuditEvent

    events = AuditEvent.objects.filter(
        kind=AuditEvent.Kind.WAITING_ROOM_ADMITTED, showtime_id=showtime, pk__gt=after_id
    ).order_by("pk")
    members, last = [], after_id
    for event in events.only("pk", "detail"):
        members += event.detail.get("members", [])
        last = event.pk
    return members, last


def drain(stack, showtime: int, timeout: float = 60.0) -> float:
    """Let everyone still queued in at once; returns how long it took."""
    from waitingroom import queue

    began = time.monotonic()
    stack.manage(
        "waiting_room", "resume", str(showtime), "--max-active", "100000", "--rate", "1000000"
    )
    while time.monotonic() < began + timeout:
        queued, _ = queue.sizes(showtime_id=showtime)
        if not queued:
            break
        time.sleep(WORKER_INTERVAL)
    time.sleep(2 * WORKER_INTERVAL)  # the last pass's audit event is committed
    return time.monotonic() - began


@dataclass
class Fairness:
    group: str
    joined: int
    admitted: int
    tau: float
    discordant: int
    pairs: int
    displacement: int  # the largest |admission place - arrival place| within the group


def fairness(group: str, buyers: list[Buyer], rank: dict[int, int], by="order") -> Fairness:
    """Admission order against arrival order: when each buyer's first queue GET was sent,
    (`by="answered"`) the one that joined, or (`by="score"`) the room's score for it."""
    joined = sorted((b for b in buyers if getattr(b, by) is not None), key=lambda b: getattr(b, by))
    ranks = [rank[b.user_id] for b in joined if b.user_id in rank]
    tau, discordant, pairs = kendall_tau(ranks)
    places = {value: place for place, value in enumerate(sorted(ranks))}
    displacement = max((abs(places[r] - n) for n, r in enumerate(ranks)), default=0)
    return Fairness(group, len(joined), len(ranks), tau, discordant, pairs, displacement)


# ---------------------------------------------------------------------------------------------
# Report.


def report(sale: Sale, size: int, sold: int, sell_out: float | None, admitted_by_server: int):
    title = f"room ON, at most {sale.room_rate} let in a minute" if sale.room else "room OFF"
    rush.report_sale(sale, title)
    outcomes = Counter(b.outcome for b in sale.buyers)
    full = f"sold out {sell_out:.2f} s after on-sale" if sold == size else "NOT sold out"
    last = f" (last ticket {sell_out:.2f} s after on-sale)" if sold < size and sell_out else ""
    seen = f"; the client saw it full at {sale.sold_out_seen:.2f} s" if sale.sold_out_seen else ""
    print(f"  tickets {sold}/{size}: {full}{last}{seen}")
    print(f"  buyers: {dict(outcomes.most_common())}; arrival lag p99 {sale.lag_p99_ms:.1f} ms")
    if sale.lapsed:
        print(f"  holds refused for want of an admission (back to the queue): {sale.lapsed}")
    if sale.failures:
        kinds = Counter(f"{type(error).__name__}: {error}"[:100] for error in sale.failures)
        print(f"  buyers stopped by an error in this script: {dict(kinds)}")
        traceback.print_exception(sale.failures[0], file=sys.stderr)
    if not sale.room:
        return
    joined = sum(1 for b in sale.buyers if b.answered is not None)
    admitted = [b for b in sale.buyers if b.admitted_after is not None]
    prequeued = sum(1 for b in sale.buyers if b.prequeued)
    print(
        f"  queue: {joined} joined ({prequeued} into the pre-queue), {len(admitted)} let in "
        f"during the sale (the worker's audit: {admitted_by_server}); WebSockets opened "
        f"{sale.ws_opened}, failed {dict(sale.ws_failed) or 0}, closed by the server before the "
        f"turn {sale.ws_lost}"
    )
    for message, n in sale.ws_errors.most_common(3):
        print(f"    {n} x {message}")
    print(rush.line("queue join (GET)", sale.stats.ms("queue")))
    print(rush.line("admission (htmx GET)", sale.stats.ms("admission")))
    print(rush.line("poll (htmx GET)", sale.stats.ms("poll")))
    print(rush.line("WebSocket handshake", sale.stats.ms("websocket", status=101)))
    updates = [ms for b in sale.buyers for ms in b.updates]
    snapshots = sum(b.snapshots for b in sale.buyers)
    print(
        f"  position updates: {len(updates)} messages with data-at (+ {snapshots} on connect), "
        f"{len(updates) / sale.elapsed:.0f}/s"
    )
    print(rush.line("pass -> received", updates))
    waits = [b.admitted_after * 1000 for b in admitted]
    print(rush.line("join -> let in", waits))


def report_fairness(rows: list[Fairness], drained: float, late_early: int) -> None:
    print(f"\nfairness (everyone still queued let in afterwards, in {drained:.1f} s):")
    for row in rows:
        print(
            f"  {row.group:<37} {row.admitted}/{row.joined} admitted; Kendall tau "
            f"{row.tau:+.4f} ({row.discordant} discordant of {row.pairs} pairs); largest "
            f"displacement {row.displacement} places"
        )
    print(
        f"  early buyers whose first GET reached the server after on-sale (queued behind the "
        f"pre-queue by arrival): {late_early}"
    )


def report_audit(result: dict, size: int) -> bool:
    unaccounted = rush.report_audit(result, size)
    late = sum(f["paid"] - f["paid_confirmed"] for f in result["showtimes"].values())
    if late:
        # The design's late success: the hold ran out (busy answers while paying) and the seats
        # were sold meanwhile, so the payment is refunded by itself.
        print(f"  bookings the clients paid for that were refunded instead of confirmed: {late}")
    return unaccounted == 0 and all(
        f["tickets"] == f["confirmed_seats"]
        and not f["mismatched"]
        and not f["statuses"].get("pending")
        for f in result["showtimes"].values()
    )


# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--arrival-seconds", type=float, default=10.0, help="all arrive within")
    parser.add_argument("--early", type=int, default=1000, help="buyers arriving before on-sale")
    parser.add_argument(
        "--early-seconds", type=float, default=2.0, help="the early ones arrive over these"
    )
    parser.add_argument("--max-active", type=int, default=150, help="the room's active slots")
    parser.add_argument("--rate", type=int, default=600, help="the room's admissions a minute")
    parser.add_argument(
        "--watchers",
        type=int,
        default=-1,
        help="buyers who wait on the WebSocket (default all); the rest poll every 2 s",
    )
    parser.add_argument(
        "--phase-limit", type=float, default=300.0, help="seconds a sale may last at most"
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds for the whole run, then stop"
    )
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="for the servers"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 500 buyers, 100 early, 120 s sales"
    )
    parser.add_argument(
        "--max-pause",
        type=float,
        default=60.0,
        help="longest wait after a busy answer, s (default: the whole Retry-After; rush.py's 1)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.buyers, args.early = 500, 100
        args.phase_limit = min(args.phase_limit, 120.0)
    if args.watchers < 0:
        args.watchers = args.buyers
    if not 0 < args.early < args.buyers or args.early_seconds >= args.arrival_seconds:
        parser.error("need 0 < --early < --buyers and --early-seconds < --arrival-seconds")
    return args


def main() -> None:
    args = parse_args()
    # As rush.py: also when started in the background, where SIGINT comes ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, rush.stop)
    signal.signal(signal.SIGALRM, rush.stop)
    signal.alarm(args.timeout)
    try:
        run(args)
    except KeyboardInterrupt:
        signum = rush.STOPPED_BY[0] if rush.STOPPED_BY else signal.SIGINT
        name = "timeout" if signum == signal.SIGALRM else signal.Signals(signum).name
        print(f"\nstopped ({name}); the servers were stopped", file=sys.stderr)
        sys.exit(124 if signum == signal.SIGALRM else 128 + signum)
    finally:
        signal.alarm(0)


def run(args: argparse.Namespace) -> None:
    overrides = dict(setting.split("=", 1) for setting in args.server_env)
    server_env = {"SECRET_KEY": rush.SECRET_KEY, **overrides}
    # This process signs the buyers in as the servers would: with their settings (with
    # QUEUE_AT_THE_EDGE the member is remembered for the edge, or it sends every join to Django).
    os.environ.update(overrides)
    # rush.pause, which rush.Shopper and these buyers use after a busy answer, reads this.
    rush.MAX_PAUSE = args.max_pause
    reset_stores()
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    print(
        f"onsale: {args.buyers} buyers within {args.arrival_seconds:g} s, {args.early} of them in "
        f"the {args.early_seconds:g} s before on-sale; room on: {args.max_active} active, "
        f"{args.rate} let in a minute, {args.watchers} buyers on the WebSocket; after a busy "
        f"answer the Retry-After, at most {args.max_pause:g} s; 2 daphnes with "
        f"DEBUG=0, PostgreSQL {DB_NAME}, Redis {rush.REDIS_URL}, hold TTL {rush.HOLD_TTL} s, "
        f"the room's worker every {WORKER_INTERVAL} s; server env {overrides or 'as deployed'}"
    )
    with running_stack(
        redis_url=rush.REDIS_URL,
        hold_ttl=rush.HOLD_TTL,
        web_processes=2,
        database_url=DATABASE_URL,
        extra_env=server_env,
        production=True,
        waiting_room=True,
    ) as stack:
        keys = rush.make_users(args.buyers)
        sign_in(keys)
        user_ids = list(
            get_user_model()
            .objects.filter(username__startswith="rush")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        hall, showtimes = rush.load_hall(2)
        print(
            f"hall {rush.HALL}: {hall.size} seats in {len(hall.rows)} rows; showtimes "
            f"{showtimes} (room off, room on); servers {', '.join(stack)}"
        )
        asyncio.run(rush.warm_up(stack, showtimes))
        web = daphne_pids(stack)
        sales: list[Sale] = []
        sold: dict[int, tuple[int, float | None]] = {}
        for room, showtime in zip((False, True), showtimes, strict=True):
            buyers = make_buyers(args, keys, user_ids, stack, hall)
            # Far enough ahead for the early buyers and for this process to start them all.
            on_sale = time.time() + args.early_seconds + 3.0
            prepare(
                showtime, on_sale=on_sale, room=room, max_active=args.max_active, rate=args.rate
            )
            connections.close_all()
            sale = Sale(
                "room on" if room else "room off",
                rush.Stats(),
                0.0,
                0.0,
                showtime,
                room=room,
                room_rate=args.rate,
                on_sale=on_sale,
                deadline=time.monotonic() + 3.0 + args.early_seconds + args.phase_limit,
                buyers=buyers,
            )
            sales.append(rush.measured(web, run_sale(sale, hall.size, args.watchers)))
            # Reported at once: a long run shows each sale as soon as it is over.
            sold[showtime] = sell_out_seconds(showtime, on_sale)
            admitted = len(admission_order(showtime)[0]) if room else 0
            report(sale, hall.size, *sold[showtime], admitted)
            sys.stdout.flush()
            time.sleep(SETTLE)
        off, on = sales
        drained = drain(stack, on.showtime)
        members, _ = admission_order(on.showtime)
        rank = {int(member[1:]): n for n, member in enumerate(members) if member[:1] == "u"}
        result = rush.audit(
            showtimes, {ref for sale in sales for ref in sale.stats.paid}, stack=stack
        )
        connections.close_all()

    rows = [
        fairness("arrived after on-sale", [b for b in on.buyers if not b.early], rank),
        fairness("pre-queue (early buyers)", [b for b in on.buyers if b.early], rank),
        fairness("pre-queue, as the server had it", [b for b in on.buyers if b.prequeued], rank),
        # Apart from the queue pages refused busy (503) and sent again: the room's own order.
        fairness(
            "after on-sale, by the GET that joined",
            [b for b in on.buyers if b.prequeued is False],
            rank,
            by="answered",
        ),
        # The room's own order (its scores), against which it should admit with tau 1: less
        # when it let people in before others who came earlier were served their join.
        fairness("everyone, by the room's score", on.buyers, rank, by="score"),
    ]
    late_early = sum(1 for b in on.buyers if b.early and b.prequeued is False)
    report_fairness(rows, drained, late_early)
    audit_ok = report_audit(result, hall.size)

    holds_on = on.stats.ms("hold")
    updates = [ms for b in on.buyers for ms in b.updates]
    errors_on = on.stats.server_errors()
    doubles = result["doubles"]
    off_time, on_time = sold[off.showtime][1], sold[on.showtime][1]
    off_full = sold[off.showtime][0] == hall.size
    on_full = sold[on.showtime][0] == hall.size
    ratio = on_time / off_time if off_full and on_full and off_time else float("nan")
    post, pre = rows[0], rows[1]
    print("\ntargets (room on):")
    print(
        f"  {rush.verdict(rush.pct(holds_on, 0.99) <= HOLD_P99_MS)}  hold p99 of admitted buyers "
        f"<= {HOLD_P99_MS:.0f} ms ({rush.pct(holds_on, 0.99):.1f} ms; room off "
        f"{rush.pct(off.stats.ms('hold'), 0.99):.1f} ms)"
    )
    print(
        f"  {rush.verdict(bool(updates) and rush.pct(updates, 0.99) <= UPDATE_P99_MS)}  position "
        f"updates p99 <= {UPDATE_P99_MS:.0f} ms ({rush.pct(updates, 0.99):.1f} ms over "
        f"{len(updates)} messages)"
    )
    print(
        f"  {rush.verdict(not errors_on)}  no 5xx ({dict(errors_on) or 0}; room off "
        f"{dict(off.stats.server_errors()) or 0})"
    )
    print(f"  {rush.verdict(doubles == 0)}  no seat in two tickets, both sales ({doubles})")
    print(
        f"  {rush.verdict(ratio <= SELL_OUT_RATIO)}  time to sell out <= {SELL_OUT_RATIO} x the "
        f"room-off sale ({fmt_s(on_time, on_full)} against {fmt_s(off_time, off_full)}: "
        f"{ratio:.2f} x)"
    )
    print(
        f"  {rush.verdict(post.tau >= TAU_POST)}  Kendall tau of the buyers who came after "
        f"on-sale >= {TAU_POST} ({post.tau:+.4f}, n={post.admitted})"
    )
    print(
        f"  {rush.verdict(abs(pre.tau) < TAU_PRE)}  |Kendall tau| of the pre-queue < {TAU_PRE} "
        f"({pre.tau:+.4f}, n={pre.admitted})"
    )
    print(
        f"  {rush.verdict(audit_ok)}  audit, both sales: tickets = seats of confirmed bookings, no "
        "PENDING left, every charge confirmed or refunded"
    )


def fmt_s(seconds: float | None, full: bool) -> str:
    if seconds is None:
        return "nothing sold"
    return f"{seconds:.2f} s" if full else f"not sold out, last ticket at {seconds:.2f} s"


if __name__ == "__main__":
    main()
