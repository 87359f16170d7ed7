"""The scale-out stack (tests/scale/stack.py) on a Patroni cluster (tests/scale/patroni.py:
etcd, three PostgreSQL nodes, synchronous replication) reached through the multi-host
DATABASE_URL: the primary is killed (SIGKILL, Patroni and PostgreSQL at once) mid-rush. Nothing
is sold twice, nothing a buyer was told about is lost, nobody pays for nothing, and a buyer sees
the "try again" page at worst while Patroni promotes the synchronous standby, and no longer
than the new primary's first write plus RECOVERY_BUDGET. A real Prometheus scrapes the web
nodes and each node's Patroni: deploy/prometheus's replication lag figure is there for every
replica, before the kill and after it. The figures are printed (`-s`) and kept in
bench/RESULTS.md. Marked `scale`, as tests/scale/test_scale.py.
"""

import shutil
import threading
import time

import psycopg
import pytest

from tests.scale.patroni import available, patroni_cluster
from tests.scale.prometheus import prometheus_server
from tests.scale.stack import METRICS_TOKEN, lost_events, rush, scale_stack, wait_for
from tests.scale.test_scale import _confirmed, _no_500s, _sale_is_sound

pytestmark = pytest.mark.scale

BUYERS = 100
DATABASE = "cinema"
LAG = "patroni:replication_lag_bytes"
# Seconds buyers may go on getting 503s after the new primary took its first write.
RECOVERY_BUDGET = 3


@pytest.fixture(scope="module")
def on_patroni():
    for tool in ("redis-server", "redis-cli", "haproxy", "prometheus"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    if reason := available():
        pytest.skip(reason)
    with patroni_cluster() as cluster:
        with psycopg.connect(cluster.primary().dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        with (
            scale_stack(database_url=cluster.url(DATABASE)) as running,
            prometheus_server(
                running.nodes,
                METRICS_TOKEN,
                patroni=[f"127.0.0.1:{node.api_port}" for node in cluster.nodes],
            ) as prometheus,
        ):
            running.patroni, running.prometheus = cluster, prometheus
            yield running


def _first_commit(url: str, timeout: float = 60) -> float:
    """When a write first commits through the app's multi-host URL (the new primary took it
    and, synchronous replication being on, a standby has it): time.monotonic()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=1) as conn:
                # A transaction id makes the commit a write that waits for the standby.
                conn.execute("SELECT txid_current()")
            return time.monotonic()
        except psycopg.Error:
            time.sleep(0.05)
    raise RuntimeError(f"no write committed within {timeout} s")


def test_the_postgresql_primary_killed_mid_rush_loses_nothing_and_sells_nothing_twice(on_patroni):
    scale, cluster, prometheus = on_patroni, on_patroni.patroni, on_patroni.prometheus
    (showtime,) = scale.showtimes(1)
    # Prometheus reads each replica's lag from Patroni (deploy/prometheus's recording rule).
    replicas = {f"127.0.0.1:{node.api_port}" for node in cluster.replicas()}
    assert wait_for(lambda: prometheus.by_instance(LAG).keys() == replicas, 15)
    keys = scale.users("pgfailover", BUYERS)
    result = {}
    buyers = threading.Thread(
        target=lambda: result.update(seen=rush(scale.lb, keys, showtime, scale.seats(showtime)))
    )
    started = time.monotonic()
    buyers.start()
    assert wait_for(lambda: _confirmed(scale, showtime) >= 20, 120)
    primary = cluster.primary()
    killed = time.monotonic()
    cluster.kill(primary)
    probe = threading.Thread(
        target=lambda: result.update(committed=_first_commit(cluster.url(DATABASE)))
    )
    probe.start()
    promoted = cluster.primary(timeout=60)
    promotion = time.monotonic() - killed
    probe.join()
    writable = result["committed"] - killed
    buyers.join()
    seen = result["seen"]
    # What buyers saw: 503s from the kill until the new primary served, the "try again" page or,
    # from a pool whose every place is taken by a connection still being attempted, the busy one.
    outage = [at for at, _, status in seen.answers if at > killed and status == 503]
    until = max(outage, default=killed)
    during = seen.statuses(killed, until)
    try_again = sum(1 for at in seen.try_again if at > killed)
    served = min(
        (
            at
            for at, what, status in seen.answers
            if at > result["committed"] and what == "hold" and status == 303
        ),
        default=float("nan"),
    )
    print(
        f"primary {primary.name} killed {killed - started:.1f} s into the rush; Patroni promoted "
        f"{promoted.name} after {promotion:.2f} s; the first write committed {writable:.2f} s "
        f"after the kill, the first hold after it {served - killed:.2f} s; 503s came until "
        f"{until - killed:.2f} s: {dict(during)} meanwhile ({try_again} the try-again page, "
        f"{during[503] - try_again} the busy one); in all {seen.statuses()}, {len(seen.paid)} paid"
    )
    assert promoted is not primary
    assert until - killed < 60
    # A request waits up to DATABASE_POOL_TIMEOUT (2 s here) for the pool's next attempt.
    assert until - result["committed"] < RECOVERY_BUDGET
    _no_500s(scale, seen)
    # The killed node's Patroni is down, the one replica left is measured against the new
    # primary.
    killed_api = f"127.0.0.1:{primary.api_port}"
    assert wait_for(
        lambda: prometheus.by_instance(f"up{{instance={killed_api!r}}}") == {killed_api: 0}, 15
    )
    left = replicas - {f"127.0.0.1:{promoted.api_port}"}
    assert wait_for(lambda: prometheus.by_instance(LAG).keys() == left, 15)
    print(f"replication lag (Prometheus): {prometheus.by_instance(LAG)} bytes")
    # A webhook the mock gateway sent while there was no primary is lost with its request, as a
    # crashed node's is: reconciliation asks the gateway, as the daily run does.
    _sale_is_sound(scale, showtime, seen, reconcile=True)
    # Every booking a buyer paid for and was sent back from is on the new primary.
    (kept,) = scale.sql(
        "SELECT count(*) FROM bookings_booking WHERE ref = ANY(%s)", sorted(seen.paid)
    )[0]
    assert kept == len(seen.paid)
    scale.stack.manage("replay_events")
    lost = lost_events(scale, showtime)
    print(f"events: {lost}")
    assert lost == dict.fromkeys(lost, 0)
