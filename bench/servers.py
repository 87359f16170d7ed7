"""The ASGI servers side by side: daphne, uvicorn (httptools, uvloop, websockets) and granian,
each under the same rush and the same WebSocket fan-out, in rounds alternating A B C A B C.

    .venv/bin/python bench/servers.py                 # 2 rounds, 300 users, 500 viewers (~12 min)
    .venv/bin/python bench/servers.py --rounds 3 --users 500 --viewers 1000

Per server and round (config.servers gives each its command; the stack is tests/e2e/stack.py):
- rush (bench/rush.py's client and phases): a fresh stack as deployed (DEBUG=0, collected static
  files, 2 web processes, PostgreSQL RUSH_DB_NAME, Redis RUSH_REDIS_URL, the sweeper), USERS
  signed-in users; /health at 16 clients for --health-seconds; hold capacity C (closed loop,
  16 clients, holds only, until the Grand is sold out): holds/s, hold p50/p99, and the web
  processes' CPU per request; then an open loop at 5 x C on another showtime (overload): p99 of
  every response, 503s (the edge's Admission turning requests away), other 5xx, and whether
  the showtime sold out.
- fan-out (bench/fanout.py's viewers and holder): a fresh stack with ONE web process (SQLite,
  BENCH_REDIS_URL), VIEWERS anonymous viewers of one showtime, --fanout-rounds holds: the median
  over those rounds of the p50 and p99 from the hold until every viewer has the fragment, and the
  memory per connection.

The summary prints each figure's median over the rounds per server and its ratio to daphne's.
The on-sale bench (bench/onsale.py) runs one server by WEB_SERVER; it is not repeated here.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fanout, rush

SERVERS = ("daphne", "uvicorn", "granian")
FANOUT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def rush_round(server: str, args) -> dict:
    import django
    from django.db import connections

    django.setup()
    # The pool's connections too: reset_stores drops the database they are connected to.
    for connection in connections.all():
        if hasattr(connection, "close_pool"):
            connection.close_pool()
        connection.close()
    rush.reset_stores()
    with rush.running_stack(
        redis_url=rush.REDIS_URL,
        hold_ttl=rush.HOLD_TTL,
        web_processes=2,
        database_url=rush.DATABASE_URL,
        extra_env={"SECRET_KEY": rush.SECRET_KEY},
        production=True,
        server=server,
    ) as urls:
        keys = rush.make_users(args.users)
        hall, showtimes = rush.load_hall(2)
        connections.close_all()
        asyncio.run(rush.warm_up(urls, showtimes))
        rebuy = args.users * 2.5 < 1.5 * hall.size
        web = rush.daphne_pids(urls)

        def shoppers(seed: int, pays: bool) -> list:
            return rush.shoppers_for(keys, urls, hall, args.seed + seed, rebuy, pays)

        health = rush.measured(
            web, rush.hammer_health("/health", urls, args.concurrency, args.health_seconds)
        )
        capacity = rush.measured(
            web,
            rush.closed_loop(
                "capacity", shoppers(0, False), showtimes[0], args.concurrency, args.phase_limit
            ),
        )
        c = capacity.hold_rate
        overload = rush.measured(
            web,
            rush.open_loop(
                "overload", shoppers(1, True), showtimes[1], rush.OVERLOAD * c, args.phase_limit
            ),
        )
        sold = _sold(showtimes[1])
        connections.close_all()
    holds = capacity.stats.ms("hold")
    errors = overload.stats.server_errors()
    return {
        "health req/s": health.rps,
        "C holds/s": c,
        "hold p50 ms": rush.pct(holds, 0.5),
        "hold p99 ms": rush.pct(holds, 0.99),
        "web CPU ms/req": 1000 * capacity.cpu["web"] / max(1, len(capacity.stats.requests)),
        "overload p99 ms": rush.pct(overload.stats.ms(), 0.99),
        "overload 503": errors.get(503, 0),
        "overload other 5xx": sum(n for code, n in errors.items() if code != 503),
        "overload sold": sold,
        "no answer": sum(
            1
            for phase in (health, capacity, overload)
            for _, status, _ in phase.stats.requests
            if isinstance(status, str)
        ),
    }


def _sold(showtime: int) -> int:
    from bookings.models import Ticket

    return Ticket.objects.filter(showtime_id=showtime).count()


def fanout_round(server: str, args, holder, db_url: str, db_path: Path) -> dict:
    db_path.unlink(missing_ok=True)
    os.environ["WEB_SERVER"] = server  # run_product starts its stack without naming a server
    try:
        result = asyncio.run(
            fanout.run_product(
                holder, FANOUT_REDIS_URL, 1, args.viewers, args.fanout_rounds, db_url
            )
        )
    finally:
        os.environ.pop("WEB_SERVER", None)
    rounds = result["rounds"]
    return {
        "fan-out p50 ms": fanout.median_of(rounds, "p50"),
        "fan-out p99 ms": fanout.median_of(rounds, "p99"),
        "fan-out KiB/conn": result["rss_per_conn"],
        "connect s": result["connect_s"],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--rounds", type=int, default=2, help="rounds of A B C")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--health-seconds", type=float, default=3.0)
    parser.add_argument("--phase-limit", type=float, default=120.0)
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--fanout-rounds", type=int, default=3)
    parser.add_argument("--no-rush", action="store_true")
    parser.add_argument("--no-fanout", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.servers = args.servers.split(",")
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers {sorted(unknown)}: expected some of {SERVERS}")
    return args


def report(results: dict[str, list[dict]]) -> None:
    servers = list(results)
    keys = [key for key in results[servers[0]][0]] if results[servers[0]] else []
    base = "daphne" if "daphne" in servers else servers[0]
    print(f"\nmedians over the rounds; ratio = server / {base}")
    print(f"{'figure':22s}" + "".join(f"{s:>12s}{'ratio':>8s}" for s in servers))
    for key in keys:
        medians = {s: statistics.median(r[key] for r in results[s]) for s in servers}
        row = f"{key:22s}"
        for server in servers:
            value, ref = medians[server], medians[base]
            ratio = f"{value / ref:7.2f}x" if ref else "      -"
            row += f"{value:12.1f}{ratio:>8s}"
        print(row)
    print("\nper round:")
    for server in servers:
        for n, figures in enumerate(results[server], 1):
            print(f"  {server} {n}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))


def main() -> None:
    args = parse_args()
    fanout.raise_fd_limit(2 * args.viewers + 1000)
    results: dict[str, list[dict]] = {server: [] for server in args.servers}
    holder = tmp = None
    if not args.no_fanout:
        tmp = tempfile.TemporaryDirectory()
        db_path = Path(tmp.name) / "fanout.sqlite3"
        holder = fanout.Holder(f"sqlite:///{db_path}", FANOUT_REDIS_URL)
    load = os.getloadavg()
    print(
        f"servers {args.servers}, {args.rounds} rounds; rush: {args.users} users, concurrency "
        f"{args.concurrency}, overload {rush.OVERLOAD} x C, PostgreSQL {rush.DB_NAME}, Redis "
        f"{rush.REDIS_URL}; fan-out: {args.viewers} viewers on 1 process, {args.fanout_rounds} "
        f"holds, Redis {FANOUT_REDIS_URL}; load average {load[0]:.2f} {load[1]:.2f}",
        flush=True,
    )
    started = time.monotonic()
    try:
        for n in range(args.rounds):
            for server in args.servers:
                figures: dict = {}
                if not args.no_rush:
                    figures |= rush_round(server, args)
                if holder is not None:
                    fanout.flush_redis(FANOUT_REDIS_URL)
                    figures |= fanout_round(server, args, holder, f"sqlite:///{db_path}", db_path)
                results[server].append(figures)
                print(
                    f"round {n + 1} {server} ({time.monotonic() - started:.0f} s, load "
                    f"{os.getloadavg()[0]:.2f}): "
                    + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()),
                    flush=True,
                )
    finally:
        if holder is not None:
            holder.stop()
            tmp.cleanup()
    report(results)
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
