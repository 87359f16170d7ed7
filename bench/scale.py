"""Holds per second through three web nodes behind HAProxy against one node, in one run, on the
scale-out stack of tests/scale/stack.py (a 3+3 Redis Cluster, PostgreSQL, two sweepers, two
notifiers); then a Redis master killed under the same load: how long until its replica took over,
and what the holds saw meanwhile.

    .venv/bin/python bench/scale.py [--rounds 5] [--holds 240] [--threads 24]

Each round sells holds on a fresh showtime of the Grand: `--holds` new signed-in users hold one seat
each (distinct seats, so no conflicts: the figure is the hold path's throughput), `--threads` at a
time, closed loop; the rounds alternate between the balancer (3 nodes) and node 1 alone, and the
medians are compared. Needs redis-server, redis-cli, haproxy and PostgreSQL at CI_POSTGRES_URL
(default postgres://postgres@127.0.0.1:5432/test), as the scale test does.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import requests

from tests.scale.stack import CSRF, scale_stack, wait_for


def hold_round(base: str, keys: list[str], showtime: int, seats: list[str], threads: int):
    """Every key holds one seat (its own) through `base`; (holds per second, statuses)."""
    work = list(zip(keys, seats, strict=False))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker():
        http = requests.Session()
        http.headers.update({"X-CSRFToken": CSRF, "Origin": base})
        while True:
            with lock:
                if not work:
                    return
                key, seat = work.pop()
            http.cookies.update({"sessionid": key, "csrftoken": CSRF})
            try:
                response = http.post(
                    f"{base}/showtimes/{showtime}/hold/",
                    data={"seats": seat},
                    allow_redirects=False,
                    timeout=30,
                )
                status = response.status_code
            except requests.RequestException:
                status = 0
            with lock:
                statuses.append(status)

    began = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    took = time.monotonic() - began
    return statuses.count(303) / took, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side (5)")
    parser.add_argument("--holds", type=int, default=240, help="holds per round (240)")
    parser.add_argument("--threads", type=int, default=24, help="clients at once (24)")
    args = parser.parse_args()
    with scale_stack() as scale:
        showtimes = scale.showtimes(2 * args.rounds + 1)
        if len(showtimes) < 2 * args.rounds + 1:
            raise SystemExit(f"only {len(showtimes)} showtimes of the Grand to sell")
        # Fresh users each round: an account may hold only so much at once.
        users = scale.users("bench", args.holds * len(showtimes))
        crowds = [users[n :: len(showtimes)] for n in range(len(showtimes))]
        seats = scale.seats(showtimes[0])
        print(f"{args.holds} holds per round, {args.threads} clients, {args.rounds} rounds a side")
        rates: dict[str, list[float]] = {"3 nodes (HAProxy)": [], "1 node": []}
        for n in range(2 * args.rounds):
            side = list(rates)[n % 2]
            base = scale.lb if n % 2 == 0 else scale.nodes[0]
            rate, statuses = hold_round(base, crowds[n], showtimes[n], seats, args.threads)
            rates[side].append(rate)
            others = {s: statuses.count(s) for s in set(statuses) if s != 303}
            print(f"  round {n // 2 + 1} {side}: {rate:.0f} holds/s {others or ''}")
        three, one = (statistics.median(values) for values in rates.values())
        print(f"median holds/s: 3 nodes {three:.0f}, 1 node {one:.0f}: {three / one:.2f} x")

        # A master killed while the holds go on: the replica's promotion, what the holds saw.
        showtime = showtimes[-1]
        key = f"hold:{{st{showtime}}}:A1"
        master = scale.cluster.master_of(key)
        result = {}
        load = threading.Thread(
            target=lambda: result.update(
                round=hold_round(scale.lb, crowds[-1], showtime, seats, args.threads)
            )
        )
        load.start()
        time.sleep(0.5)
        killed = time.monotonic()
        scale.cluster.kill(master)
        wait_for(lambda: scale.cluster.moved_from(key, master), 30, every=0.05)
        promoted = time.monotonic() - killed
        load.join()
        _, statuses = result["round"]
        seen = {s: statuses.count(s) for s in sorted(set(statuses))}
        print(f"master killed: replica promoted after {promoted:.2f} s; the holds saw {seen}")


if __name__ == "__main__":
    main()
