"""Hold k seats atomically: our Lua hold against a lock per seat (redis-py `Lock`, and
`python-redis-lock`), uncontended and contended, with the raw EVALSHA ceiling of this Redis.

    .venv/bin/python bench/holds_vs_locks.py [--workers 4] [--seconds 2] [--repeats 5] [--quick]

Each method runs the same loop in `--workers` processes for `--seconds`: try to hold k seats
(k = 1, 4, 10) with one token, and on success release them again. The per-seat locks are taken
one by one without waiting and rolled back when one is taken by someone else, which is what a
developer would write with them. Uncontended: every worker has its own seats. Contended: every
worker picks k of the same 12 seats. Throughput is successful holds per second (hold + release
cycles), the median over `--repeats`; the methods run interleaved, so they share the noise.

A second pass per method counts correctness under contention, with a checker beside each hold:
- partial: a failed attempt that held some of its seats for a while (each of them blocked other
  buyers before the rollback); the Lua hold writes nothing when it fails.
- wrong: a "successful" hold some seat of which another worker also held at the same time
  (checked with a SET NX marker per seat) or that was no longer its own at release, or a failed
  one that left a seat held.

Uses the Redis at REDIS_URL (default redis://127.0.0.1:6379/11), database emptied before and
after. Needs bench/requirements.txt installed, and `redis-benchmark` (Debian's redis-tools) for
the ceiling.
"""

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

import django

django.setup()

import logging

import redis
import redis_lock

logging.getLogger("redis_lock").setLevel(logging.ERROR)  # it logs every try, at INFO and WARNING

from seats import holds

SHOWTIME = 1
TTL = 30
CONTENDED_SEATS = [f"A{n}" for n in range(1, 13)]
METHODS = ("lua", "redis-py Lock", "python-redis-lock")


def raw_client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


class LuaHold:
    """The product's hold: one script call for all seats, one for the release."""

    def __init__(self, client):
        self.token = uuid.uuid4().hex

    def hold(self, labels):
        result = holds.hold(showtime_id=SHOWTIME, labels=labels, token=self.token, ttl_seconds=TTL)
        self.written = (
            [] if result.ok else [(holds.seat_key(SHOWTIME, x), self.token) for x in labels]
        )
        return result.ok, 0

    def release(self, labels):
        return len(labels) - len(
            holds.release(showtime_id=SHOWTIME, labels=labels, token=self.token)
        )


class PerSeatLocks:
    """A lock per seat, taken in order without blocking; on a taken seat, undo the ones held."""

    def __init__(self, client):
        self.client = client
        self.locks = []

    def make(self, label):
        raise NotImplementedError

    def written_by(self, lock) -> tuple[str, str]:
        """The key this lock wrote and the value that says it is ours."""
        raise NotImplementedError

    def hold(self, labels):
        self.locks = []
        for label in labels:
            lock = self.make(label)
            if not lock.acquire(blocking=False):
                self.written = [self.written_by(lock) for lock in self.locks]
                self.release(labels)
                return False, len(self.written)
            self.locks.append(lock)
        return True, 0

    def release(self, labels):
        """Release every lock taken; returns how many were no longer ours (lost to someone)."""
        lost = 0
        for lock in self.locks:
            try:
                lock.release()
            except (redis.exceptions.LockError, redis_lock.NotAcquired):
                lost += 1
        self.locks = []
        return lost


class RedisPyLocks(PerSeatLocks):
    def make(self, label):
        return self.client.lock(holds.seat_key(SHOWTIME, label), timeout=TTL)

    def written_by(self, lock):
        return lock.name, lock.local.token.decode()


class PythonRedisLocks(PerSeatLocks):
    def make(self, label):
        return redis_lock.Lock(self.client, holds.seat_key(SHOWTIME, label), expire=TTL)

    def written_by(self, lock):
        return lock._name, lock.id


IMPLEMENTATIONS = {
    "lua": LuaHold,
    "redis-py Lock": RedisPyLocks,
    "python-redis-lock": PythonRedisLocks,
}


def _labels(worker: int, k: int, contended: bool, rng: random.Random) -> list[str]:
    if contended:
        return rng.sample(CONTENDED_SEATS, k)
    return [f"W{worker}S{n}" for n in range(k)]  # a worker's own seats, the same every time


def worker(method, k, contended, checked, seconds, index, start_at, results):
    rng = random.Random(index)
    client = raw_client()
    impl = IMPLEMENTATIONS[method](client)
    marker = uuid.uuid4().hex
    held = attempts = partial = wrong = 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    while time.time() < deadline:
        labels = _labels(index, k, contended, rng)
        ok, partly = impl.hold(labels)
        attempts += 1
        partial += partly > 0
        if ok:
            held += 1
            if checked:
                # Claim a marker per seat: another worker's marker means a double hold.
                claims = [client.set(f"check:{label}", marker, nx=True) for label in labels]
                wrong += not all(claims)
                for label, claimed in zip(labels, claims, strict=True):
                    if claimed:
                        client.delete(f"check:{label}")
            wrong += impl.release(labels) > 0  # a seat it believed held was someone else's
        elif checked:
            # A failed attempt must leave none of the seats it wrote held by itself.
            wrong += any(client.get(key) == value.encode() for key, value in impl.written)
    results.put((held, attempts, partial, wrong))


def run(method, k, contended, *, workers, seconds, checked=False):
    raw_client().flushdb()
    results = multiprocessing.Queue()
    start_at = time.time() + 0.3
    processes = [
        multiprocessing.Process(
            target=worker,
            args=(method, k, contended, checked, seconds, index, start_at, results),
        )
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    totals = [sum(values) for values in zip(*(results.get() for _ in processes), strict=True)]
    for process in processes:
        process.join()
    held, attempts, partial, wrong = totals
    return {"holds_s": held / seconds, "attempts": attempts, "partial": partial, "wrong": wrong}


def ceiling(clients: int, requests: int) -> float | None:
    """requests/s of EVALSHA of `return 1` from redis-benchmark on this Redis."""
    if not shutil.which("redis-benchmark"):
        return None
    client = raw_client()
    sha = client.script_load("return 1")
    kwargs = client.connection_pool.connection_kwargs
    output = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            str(kwargs.get("host", "127.0.0.1")),
            "-p",
            str(kwargs.get("port", 6379)),
            "-c",
            str(clients),
            "-n",
            str(requests),
            "-q",
            "evalsha",
            sha,
            "0",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # "evalsha ...: 61349.69 requests per second, p50=0.415 msec"
    return float(output.strip().splitlines()[-1].split(":")[1].split("requests")[0].split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ks", default="1,4,10")
    parser.add_argument("--quick", action="store_true", help="one short repeat, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.seconds = 1, 0.5
    ks = [int(k) for k in args.ks.split(",")]
    opts = {"workers": args.workers, "seconds": args.seconds}

    print(
        f"Redis {os.environ['REDIS_URL']}, {args.workers} worker processes, {os.cpu_count()} CPUs"
    )
    print(f"{args.repeats} repeats of {args.seconds} s per cell; methods interleaved per repeat\n")
    for method in METHODS:  # warm up: scripts loaded, connections and imports in place
        run(method, 4, False, workers=args.workers, seconds=0.3)
    rows = []
    for contended in (False, True):
        for k in ks:
            if contended and k > len(CONTENDED_SEATS) // 2:
                continue
            samples = {method: [] for method in METHODS}
            for _ in range(args.repeats):
                for method in METHODS:
                    samples[method].append(run(method, k, contended, **opts)["holds_s"])
            checks = {method: run(method, k, contended, checked=True, **opts) for method in METHODS}
            medians = {method: statistics.median(samples[method]) for method in METHODS}
            rows.append((contended, k, medians, checks))

    print(
        f"{'load':<12}{'k':>3}  {'method':<18}{'holds/s':>10}{'x lua':>8}"
        f"{'attempts':>10}{'partial':>9}{'wrong':>7}"
    )
    for contended, k, medians, checks in rows:
        for method in METHODS:
            check = checks[method]
            ratio = medians["lua"] / medians[method] if medians[method] else float("inf")
            print(
                f"{'contended' if contended else 'uncontended':<12}{k:>3}  {method:<18}"
                f"{medians[method]:>10.0f}{ratio:>8.2f}{check['attempts']:>10}"
                f"{check['partial']:>9}{check['wrong']:>7}"
            )
    print(
        "\n(x lua = Lua holds/s divided by this method's; partial and wrong come from the checked"
        " pass of each cell)"
    )

    for clients in (args.workers, 50):
        rate = ceiling(clients, 20_000 if args.quick else 200_000)
        if rate:
            print(f"redis-benchmark EVALSHA 'return 1', {clients} clients: {rate:,.0f} requests/s")

    verdict = []
    for contended, k, medians, checks in rows:
        if k == 4:
            ratio = medians["lua"] / medians["redis-py Lock"]
            verdict.append(
                f"k=4 {'contended' if contended else 'uncontended'}: Lua {ratio:.2f} x"
                f" redis-py Lock (target >= 3) {'PASS' if ratio >= 3 else 'MISS'};"
                f" Lua partial holds {checks['lua']['partial']}, wrong {checks['lua']['wrong']}"
            )
    print("\n" + "\n".join(verdict))
    raw_client().flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
