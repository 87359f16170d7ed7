"""How long the app is without a writable PostgreSQL when the primary dies, reaching it two ways
at once, on the Patroni cluster of tests/scale/patroni.py (etcd, three nodes, synchronous):

- libpq's multi-host DSN: `host=a,b,c target_session_attrs=read-write` (psycopg tries each
  host in turn and keeps the one that takes writes);
- HAProxy (deploy/haproxy-postgres.cfg) in front of the three, checking Patroni's `/primary`.

    .venv/bin/python bench/pg_failover.py [--rounds 3]

Each round starts a fresh cluster, runs one writer per path (an INSERT every 20 ms on a kept
connection, reconnecting after any error, as a pooled web node does), kills the primary's
Patroni and PostgreSQL with SIGKILL, and reports per path the gap between the last write before
the kill and the first after it, and whether every acknowledged write is on the new primary.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg

from tests.e2e.stack import free_port
from tests.scale.patroni import PatroniCluster, available, patroni_cluster

EVERY = 0.02


class Writer(threading.Thread):
    def __init__(self, name: str, dsn: str):
        super().__init__(daemon=True)
        self.name, self.dsn = name, dsn
        self.acknowledged: list[tuple[float, int]] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        conn, n = None, 0
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=2)
                n += 1
                conn.execute("INSERT INTO writes (path, n) VALUES (%s, %s)", (self.name, n))
                self.acknowledged.append((time.monotonic(), n))
            except psycopg.Error:
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(EVERY)

    def gap(self, killed: float) -> float:
        before = max(at for at, _ in self.acknowledged if at <= killed)
        after = min(at for at, _ in self.acknowledged if at > killed)
        return after - before


def haproxy(cluster: PatroniCluster, port: int) -> subprocess.Popen:
    env = {**os.environ, "PG_BIND": f"127.0.0.1:{port}"}
    for number, node in enumerate(cluster.nodes, start=1):
        env[f"PG{number}"] = f"127.0.0.1:{node.port}"
        env[f"API{number}"] = str(node.api_port)
    return subprocess.Popen(
        [
            shutil.which("haproxy") or "haproxy",
            "-db",
            "-f",
            str(ROOT / "deploy/haproxy-postgres.cfg"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def one_round() -> dict:
    with patroni_cluster() as cluster:
        with psycopg.connect(cluster.primary().dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE writes (path text, n int)")
        port = free_port()
        balancer = haproxy(cluster, port)
        try:
            time.sleep(2)  # the balancer's first checks
            writers = [
                Writer("multihost", cluster.url("postgres")),
                Writer("haproxy", f"postgresql://postgres@127.0.0.1:{port}/postgres"),
            ]
            for writer in writers:
                writer.start()
            time.sleep(2)
            primary = cluster.primary()
            killed = time.monotonic()
            cluster.kill(primary)
            promoted = cluster.primary(timeout=60)
            promoted_after = time.monotonic() - killed
            time.sleep(4)
            for writer in writers:
                writer.stop.set()
                writer.join()
            with psycopg.connect(promoted.dsn(), autocommit=True) as conn:
                kept = {
                    (path, n) for path, n in conn.execute("SELECT path, n FROM writes").fetchall()
                }
        finally:
            balancer.kill()
            balancer.wait()
    result = {"patroni_says_primary_after": promoted_after}
    for writer in writers:
        lost = sum(1 for _, n in writer.acknowledged if (writer.name, n) not in kept)
        result[writer.name] = {"gap": writer.gap(killed), "errors": writer.errors, "lost": lost}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if reason := available():
        sys.exit(reason)
    rounds = []
    for number in range(1, args.rounds + 1):
        result = one_round()
        rounds.append(result)
        print(f"round {number}: {result}", flush=True)
    for path in ("multihost", "haproxy"):
        gaps = [r[path]["gap"] for r in rounds]
        lost = sum(r[path]["lost"] for r in rounds)
        print(
            f"{path}: writes stopped for median {statistics.median(gaps):.2f} s "
            f"(min {min(gaps):.2f}, max {max(gaps):.2f}); acknowledged writes lost: {lost}"
        )


if __name__ == "__main__":
    main()
