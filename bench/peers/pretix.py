"""The on-sale rush against pretix, the best-known open-source peer, beside Marquee in one run.

    .venv/bin/python bench/peers/pretix.py [--rounds 2] [--concurrency 16 64] [--buyers 600]
        [--pretix pretix pretix+celery]

Installs pretix from PyPI (`--version`, 2026.8.0) with gunicorn into its own virtualenv
`.venv-pretix` (git-ignored; made once, reused after), writes its settings file in a temporary
directory (its own PostgreSQL database `bench_pretix`, dropped and created again, migrated; Redis
db 8 for its cache and sessions) and creates an organizer with one event per round and pretix
set-up, each with one product and a quota of 478 (the Grand's seats). pretix runs in two set-ups,
each served by 2 gunicorn workers: `pretix`, with no Celery broker, so it runs its tasks in the
request; and `pretix+celery`, its production set-up, whose tasks go to one Celery worker (2
processes) through a Redis broker (dbs 6 and 7 of the same server: broker and results). Marquee
runs as `bench/rush.py` does (2 daphnes as deployed, PostgreSQL `bench_rush`, Redis db 13). The
same rush runs on each, rounds alternating: for each concurrency, for each round, pretix, then
pretix+celery, then Marquee, each on a fresh event or Grand showtime.

The buyers: `--buyers` signed-in users each want 2 tickets, `--concurrency` closed-loop clients
(`bench/rush.py`'s `closed_loop`) serve them until every one is done. On Marquee a buyer is
`bench/rush.py`'s shopper with `--best 2` that does not pay: a 303 to the booking reserves, a 409
saying no 2 seats together are left ends its turn, another 409 sends it back to the queue. On
pretix a reservation is adding to the cart through its presale flow, the cart add POST
(`/<organizer>/<event>/cart/add?ajax=1`, `item_<id>=2`) with the buyer's session and CSRF token,
answered `"success": true` (with Celery, the POST answers with the task's id and its check URL,
which the buyer asks 0.1 s later, then 0.25 s after each "not ready", as pretix's page script does,
until it says how the task ended; the reservation is timed from the POST to that answer); a refusal
(`"success": false`: sold out) ends its turn, a busy or failed answer sends it back. Each pretix
buyer's session and cart are made before the round (the same POST with no product, untimed), as
Marquee's sessions are written before.

Printed per round and per concurrency (medians over rounds): reservations per second (successes
over the time from the round's start to the last success; the time until every buyer was answered
apart), p50/p99 of the reservation requests (every status), status counts, and oversell: on pretix
the cart and order positions of the event beyond the quota (from its database), on Marquee the
seats its clients were told they hold beyond the hall (the holds last 300 s here, longer than a
round, so none lapses and is sold again); then the ratio Marquee / pretix.

PRETIX_REDIS_URL (redis://127.0.0.1:6379/8), PRETIX_CELERY_DB (6; and the next) and PRETIX_DB_NAME
(bench_pretix) move pretix's stores; RUSH_REDIS_URL and RUSH_DB_NAME move Marquee's as for
`bench/rush.py`.
"""

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

# The same client as the rush; importing it also puts the project on the path and sets this
# process's Django settings (it writes Marquee's users and sessions).
import rush

from tests.e2e.stack import free_port

PRETIX_VENV = ROOT / ".venv-pretix"
PRETIX_REDIS_URL = os.environ.get("PRETIX_REDIS_URL", "redis://127.0.0.1:6379/8")
PRETIX_DB = os.environ.get("PRETIX_DB_NAME", "bench_pretix")
# The Celery variant's broker and results: these two dbs of PRETIX_REDIS_URL's server.
PRETIX_CELERY_DB = int(os.environ.get("PRETIX_CELERY_DB", "6"))
# The systems of a round, in the order they run: pretix with its tasks in the request, pretix
# with a Celery worker (its production set-up), Marquee.
PRETIX_VARIANTS = ("pretix", "pretix+celery")
# When a pretix+celery buyer asks whether its cart task is done: 0.1 s after the POST's answer,
# then 0.25 s after each "not ready", as pretix's page script (asynctask.js) does; the server
# itself waits up to 0.5 s (the POST) or 0.25 s (a check) for the task before it answers.
FIRST_CHECK_SECONDS = 0.1
NEXT_CHECK_SECONDS = 0.25
QUOTA = 478
TICKETS = 2
HOLD_TTL = 300  # Marquee's holds outlast a round: a seat told held stays held
ORGANIZER = "bench"

SETUP = """
import json, sys
from datetime import timedelta
from decimal import Decimal
import django
django.setup()
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import Event, Organizer
with scopes_disabled():
    organizer = Organizer.objects.create(name="Bench", slug=sys.argv[1])
    events = []
    for n in range(int(sys.argv[2])):
        event = Event.objects.create(
            organizer=organizer, name=f"Rush {n}", slug=f"rush{n}", currency="EUR",
            date_from=now() + timedelta(days=30), live=True,
        )
        event.set_defaults()
        item = event.items.create(name="Ticket", default_price=Decimal("10.00"), admission=True)
        quota = event.quotas.create(name="Hall", size=int(sys.argv[3]))
        quota.items.add(item)
        events.append({"id": event.pk, "slug": event.slug, "item": item.pk})
print(json.dumps(events))
"""


def install(version: str) -> None:
    """pretix and gunicorn in `.venv-pretix`, unless that version is there already."""
    python = PRETIX_VENV / "bin" / "python"
    if python.exists():
        found = subprocess.run(
            [python, "-c", "import pretix; print(pretix.__version__)"],
            capture_output=True,
            text=True,
        )
        if found.stdout.strip() == version:
            return
    subprocess.run([sys.executable, "-m", "venv", PRETIX_VENV], check=True)
    pip = [PRETIX_VENV / "bin" / "pip", "install", "-q", f"pretix=={version}", "gunicorn"]
    subprocess.run(pip, check=True)


def pretix_config(folder: Path, port: int, *, celery: bool = False) -> Path:
    """pretix's settings file in `folder`; with `celery`, its tasks go to a Celery worker through
    a Redis broker (db PRETIX_CELERY_DB of PRETIX_REDIS_URL's server), results on the next db."""
    redis_url = PRETIX_REDIS_URL
    config = folder / ("pretix-celery.cfg" if celery else "pretix.cfg")
    config.write_text(
        f"""[pretix]
instance_name=bench
url=http://127.0.0.1:{port}
datadir={folder}/data
currency=EUR

[django]
secret={secrets.token_urlsafe(50)}
debug=false

[database]
backend=postgresql
name={PRETIX_DB}
user=postgres
host=127.0.0.1
port=5432

[redis]
location={redis_url}
sessions=true

[mail]
from=bench@localhost
"""
        + (f"\n[celery]\nbroker={celery_url(0)}\nbackend={celery_url(1)}\n" if celery else "")
    )
    (folder / "data").mkdir(exist_ok=True)
    return config


def celery_url(offset: int) -> str:
    """PRETIX_REDIS_URL's server, db PRETIX_CELERY_DB + `offset`."""
    server = PRETIX_REDIS_URL.rsplit("/", 1)[0]
    return f"{server}/{PRETIX_CELERY_DB + offset}"


def reset_pretix_stores() -> None:
    import psycopg
    import redis

    with psycopg.connect(rush.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PRETIX_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PRETIX_DB}")
    for url in (PRETIX_REDIS_URL, celery_url(0), celery_url(1)):
        redis.Redis.from_url(url).flushdb()


def pretix_env(config: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "PRETIX_CONFIG_FILE": str(config),
        "DJANGO_SETTINGS_MODULE": "pretix.settings",
    }


def set_up_pretix(env: dict, events: int) -> list[dict]:
    """Migrate pretix's database; an organizer with `events` events of one product and a
    quota of QUOTA each."""
    python = str(PRETIX_VENV / "bin" / "python")
    subprocess.run(
        [python, "-m", "pretix", "migrate", "--noinput"], env=env, check=True, capture_output=True
    )
    made = subprocess.run(
        [python, "-c", SETUP, ORGANIZER, str(events), str(QUOTA)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(made.stdout.strip().splitlines()[-1])


def start_pretix(env: dict, port: int, log: Path) -> subprocess.Popen:
    command = [
        str(PRETIX_VENV / "bin" / "gunicorn"),
        "pretix.wsgi",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
    ]
    with log.open("ab") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    import urllib.request

    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck/", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn for pretix exited; see {log}") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"pretix did not answer /healthcheck/ within 60 s; see {log}")


def start_celery(env: dict, log: Path) -> subprocess.Popen:
    """One Celery worker for pretix (prefork, 2 processes: one per core), as pretix's
    production set-up runs beside its web workers; waits until it answers a ping."""
    celery = str(PRETIX_VENV / "bin" / "celery")
    command = [celery, "-A", "pretix.celery_app", "worker", "-l", "info", "--concurrency", "2"]
    with log.open("ab") as out:
        worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pinged = subprocess.run(
            [celery, "-A", "pretix.celery_app", "inspect", "ping", "--timeout", "2"],
            env=env,
            capture_output=True,
        )
        if pinged.returncode == 0:
            return worker
        if worker.poll() is not None:
            raise SystemExit(f"pretix's celery worker exited; see {log}")
        time.sleep(1)
    worker.terminate()
    raise SystemExit(f"pretix's celery worker did not answer a ping within 60 s; see {log}")


class Buyer:
    """A pretix buyer wanting TICKETS tickets; `turn` is `rush.Shopper.turn`'s counterpart."""

    def __init__(self, *, base: str, item: int):
        self.base = base
        self.item = item
        self.session = ""
        self.done = False
        self.refusals: Counter = Counter()
        self.polls = 0

    def headers(self) -> dict[str, str]:
        cookie = f"pretix_csrftoken={rush.CSRF}"
        if self.session:
            cookie += f"; pretix_session={self.session}"
        return {"Cookie": cookie, "X-CSRFToken": rush.CSRF, "Origin": self.base}

    async def open_cart(self, http, path: str) -> None:
        """The session and its cart for the event at `path`, as the event page would make them."""
        async with http.post(
            f"{self.base}{path}cart/add?ajax=1", headers=self.headers(), allow_redirects=False
        ) as response:
            await response.read()
            if "pretix_session" in response.cookies:
                self.session = response.cookies["pretix_session"].value

    async def turn(self, http, path: str, stats: rush.Stats) -> float:
        """The cart add POST; with Celery, its answer is the task's id and the client asks the
        check URL until the task is done (as pretix's own page script does): the reservation is
        timed from the POST to the answer that says how the task ended."""
        self.polls = 0
        started = time.perf_counter()
        try:
            async with http.post(
                f"{self.base}{path}cart/add?ajax=1",
                data={f"item_{self.item}": str(TICKETS)},
                headers=self.headers(),
                allow_redirects=False,
            ) as response:
                body = await response.text()
            while response.status == 200 and not json.loads(body).get("ready", True):
                await asyncio.sleep(NEXT_CHECK_SECONDS if self.polls else FIRST_CHECK_SECONDS)
                async with http.get(
                    self.base + json.loads(body)["check_url"],
                    headers=self.headers(),
                    allow_redirects=False,
                ) as response:
                    body = await response.text()
                self.polls += 1
        except (rush.aiohttp.ClientError, TimeoutError) as error:
            stats.add("hold", type(error).__name__, time.perf_counter() - started)
            return 0.0
        stats.add("hold", response.status, time.perf_counter() - started)
        if response.status in rush.BUSY:
            return rush.pause(response.headers)
        if response.status != 200:
            return 0.0
        answer = json.loads(body)
        if answer.get("success"):
            stats.held += 1
        else:
            stats.no_block += 1
            self.refusals[answer.get("message", "")] += 1
        self.done = True
        return 0.0


def pretix_positions(event_id: int) -> int:
    """The event's positions in carts and orders: what pretix has promised."""
    import psycopg

    url = f"postgresql://postgres@127.0.0.1:5432/{PRETIX_DB}"
    with psycopg.connect(url) as conn:
        carts = conn.execute(
            "SELECT count(*) FROM pretixbase_cartposition WHERE event_id = %s", [event_id]
        ).fetchone()[0]
        orders = conn.execute(
            "SELECT count(*) FROM pretixbase_orderposition p JOIN pretixbase_order o "
            "ON o.id = p.order_id WHERE o.event_id = %s",
            [event_id],
        ).fetchone()[0]
    return carts + orders


class Clocked:
    """A buyer of either system whose successful turns are timed: the sale lasts from the
    start of the round until the last reservation (refusals to the last buyers come after)."""

    def __init__(self, buyer, successes: list[float]):
        self.buyer = buyer
        self.successes = successes

    @property
    def done(self) -> bool:
        return self.buyer.done

    async def turn(self, http, target, stats: rush.Stats) -> float:
        # A turn of its own, merged after: other buyers' turns change `stats` meanwhile.
        mine = rush.Stats()
        pause = await self.buyer.turn(http, target, mine)
        if mine.held:
            self.successes.append(time.perf_counter())
        stats.requests += mine.requests
        stats.held += mine.held
        stats.no_block += mine.no_block
        return pause


async def clocked_loop(name: str, buyers: list, target, concurrency: int, limit: float):
    """`rush.closed_loop` over `buyers`; also the seconds until the last reservation."""
    successes: list[float] = []
    began = time.perf_counter()
    clocked = [Clocked(buyer, successes) for buyer in buyers]
    phase = await rush.closed_loop(name, clocked, target, concurrency, limit)
    return phase, (max(successes) - began) if successes else float("nan")


def summary(phase: rush.Phase, sale: float, reserved_seats: int) -> dict:
    holds = phase.stats.ms("hold")
    return {
        "rate": phase.stats.held / sale,
        "sale": sale,
        "p50": rush.pct(holds, 0.5),
        "p99": rush.pct(holds, 0.99),
        "elapsed": phase.elapsed,
        "requests": len(holds),
        "held": phase.stats.held,
        "refused": phase.stats.no_block,
        "statuses": dict(Counter(code for kind, code, _ in phase.stats.requests)),
        "oversell": max(0, reserved_seats - QUOTA),
        "reserved": reserved_seats,
    }


async def pretix_round(
    url: str, event: dict, buyers: int, concurrency: int, limit: float
) -> tuple[rush.Phase, list[Buyer]]:
    path = f"/{ORGANIZER}/{event['slug']}/"
    crowd = [Buyer(base=url, item=event["item"]) for _ in range(buyers)]
    async with rush.new_session() as http:
        for start in range(0, buyers, 32):
            await asyncio.gather(*(b.open_cart(http, path) for b in crowd[start : start + 32]))
    phase, sale = await clocked_loop(f"pretix c{concurrency}", crowd, path, concurrency, limit)
    return phase, sale, crowd


def show(name: str, row: dict) -> None:
    print(
        f"  {name:13} {row['rate']:7.1f} reservations/s  p50 {row['p50']:7.1f} ms  "
        f"p99 {row['p99']:7.1f} ms  {row['held']} reserved in {row['sale']:.1f} s, "
        f"{row['refused']} refused; {row['requests']} requests, every buyer answered in "
        f"{row['elapsed']:.1f} s; statuses {row['statuses']}  "
        f"seats {row['reserved']}/{QUOTA}, oversell {row['oversell']}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="2026.8.0", help="pretix's version on PyPI")
    parser.add_argument("--buyers", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--rounds", type=int, default=2, help="per concurrency and system")
    parser.add_argument("--phase-limit", type=float, default=300.0, help="seconds per round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pretix",
        nargs="+",
        choices=PRETIX_VARIANTS,
        default=list(PRETIX_VARIANTS),
        help="pretix's set-ups to run: tasks in the request, and/or with a Celery worker",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # Ctrl-C (also when started in the background, where SIGINT comes ignored) and SIGTERM
    # unwind through the `finally`s that stop gunicorn and the daphnes.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, rush.stop)
    install(args.version)
    rounds = args.rounds * len(args.concurrency)
    variants = [v for v in PRETIX_VARIANTS if v in args.pretix]
    rush.reset_stores()
    reset_pretix_stores()
    rush.django.setup()
    from django.db import connections

    print(
        f"pretix {args.version} (2 gunicorn workers; {' and '.join(variants)}: tasks in the "
        f"request, or in one Celery worker of 2 processes, broker {celery_url(0)}; PostgreSQL "
        f"{PRETIX_DB}, Redis {PRETIX_REDIS_URL}) against Marquee (2 daphnes as deployed, "
        f"PostgreSQL {rush.DB_NAME}, Redis {rush.REDIS_URL}); {args.buyers} buyers x {TICKETS} "
        f"tickets, quota {QUOTA}; concurrency {args.concurrency}, {args.rounds} rounds each, "
        "alternating"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        logs = Path(os.environ.get("STACK_LOG_DIR", tmp))
        ports = {variant: free_port() for variant in variants}
        envs = {
            variant: pretix_env(
                pretix_config(folder, ports[variant], celery=variant == "pretix+celery")
            )
            for variant in variants
        }
        events = set_up_pretix(envs[variants[0]], rounds * len(variants))
        processes = []
        urls_of = {}
        results: dict[tuple[str, int], list[dict]] = {}
        try:
            for variant in variants:
                name = variant.replace("+", "-")
                processes.append(
                    start_pretix(envs[variant], ports[variant], logs / f"{name}-gunicorn.log")
                )
                urls_of[variant] = f"http://127.0.0.1:{ports[variant]}"
            if "pretix+celery" in variants:
                processes.append(start_celery(envs["pretix+celery"], logs / "pretix-celery.log"))
            with rush.running_stack(
                redis_url=rush.REDIS_URL,
                hold_ttl=HOLD_TTL,
                web_processes=2,
                database_url=rush.DATABASE_URL,
                extra_env={"SECRET_KEY": rush.SECRET_KEY},
                production=True,
            ) as urls:
                keys = rush.make_users(args.buyers)
                hall, showtimes = rush.load_hall(rounds)
                connections.close_all()
                asyncio.run(rush.warm_up(urls, showtimes))
                n = 0
                for concurrency in args.concurrency:
                    for r in range(args.rounds):
                        showtime = showtimes[n]
                        print(f"\nround {r + 1} at concurrency {concurrency}:")
                        for v, variant in enumerate(variants):
                            event = events[n * len(variants) + v]
                            phase, sale, crowd = asyncio.run(
                                pretix_round(
                                    urls_of[variant],
                                    event,
                                    args.buyers,
                                    concurrency,
                                    args.phase_limit,
                                )
                            )
                            row = summary(phase, sale, pretix_positions(event["id"]))
                            row["messages"] = sum((b.refusals for b in crowd), Counter())
                            row["polls"] = sum(b.polls for b in crowd)
                            results.setdefault((variant, concurrency), []).append(row)
                            show(variant, row)
                        shoppers = rush.shoppers_for(
                            keys, urls, hall, args.seed + n, False, pays=False, best=TICKETS
                        )
                        phase, sale = asyncio.run(
                            clocked_loop(
                                f"marquee c{concurrency}",
                                shoppers,
                                showtime,
                                concurrency,
                                args.phase_limit,
                            )
                        )
                        row = summary(phase, sale, phase.stats.held * TICKETS)
                        results.setdefault(("marquee", concurrency), []).append(row)
                        show("Marquee", row)
                        n += 1
                connections.close_all()
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
    report(results, args, variants)


def report(results: dict, args: argparse.Namespace, variants: list[str]) -> None:
    print(
        f"\nmedians over {args.rounds} rounds: reservations/s until the last one, p50/p99 ms of "
        "the reservation requests, seconds until every buyer was answered"
    )

    def median(rows, key):
        return statistics.median(row[key] for row in rows)

    for concurrency, variant in ((c, v) for c in args.concurrency for v in variants):
        p = results[(variant, concurrency)]
        m = results[("marquee", concurrency)]

        def line(rows):
            return (
                f"{median(rows, 'rate'):.1f}/s p50 {median(rows, 'p50'):.0f} "
                f"p99 {median(rows, 'p99'):.0f}, all answered in {median(rows, 'elapsed'):.1f} s, "
                f"oversell {max(row['oversell'] for row in rows)}"
            )

        ratio = median(m, "rate") / median(p, "rate")
        answered = median(p, "elapsed") / median(m, "elapsed")
        print(
            f"  concurrency {concurrency}: {variant} {line(p)}; Marquee {line(m)}; ratio "
            f"{ratio:.2f}x reservations/s, {answered:.2f}x faster answering every buyer"
        )
        messages = sum((row["messages"] for row in p), Counter())
        polls = sum(row["polls"] for row in p)
        print(f"    {variant}'s refusals: {dict(messages)}; task status polls: {polls}")


if __name__ == "__main__":
    main()
