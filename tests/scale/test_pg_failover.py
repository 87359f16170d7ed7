"""The scale-out stack (tests/scale/stack.py) on a Patroni cluster (tests/scale/patroni.py:
etcd, three PostgreSQL nodes, synchronous replication) reached through the multi-host
DATABASE_URL: the primary is killed (SIGKILL, Patroni and PostgreSQL at once) mid-rush. Nothing
is sold twice, nothing a buyer was told about is lost, nobody pays for nothing, and a buyer sees
the "try again" page at worst while Patroni promotes the synchronous standby. The figures are
printed (`-s`) and kept in bench/RESULTS.md. Marked `scale`, as tests/scale/test_scale.py.
"""

import shutil
import threading
import time

import psycopg
import pytest

from tests.scale.patroni import available, patroni_cluster
from tests.scale.stack import lost_events, rush, scale_stack, wait_for
from tests.scale.test_scale import _confirmed, _no_500s, _sale_is_sound

pytestmark = pytest.mark.scale

BUYERS = 100
DATABASE = "cinema"


@pytest.fixture(scope="module")
def on_patroni():
    for tool in ("redis-server", "redis-cli", "haproxy"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    if reason := available():
        pytest.skip(reason)
    with patroni_cluster() as cluster:
        with psycopg.connect(cluster.primary().dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        with scale_stack(database_url=cluster.url(DATABASE)) as running:
            running.patroni = cluster
            yield running


def test_the_postgresql_primary_killed_mid_rush_loses_nothing_and_sells_nothing_twice(on_patroni):
    scale, cluster = on_patroni, on_patroni.patroni
    (showtime,) = scale.showtimes(1)
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
    promoted = cluster.primary(timeout=60)
    promotion = time.monotonic() - killed
    buyers.join()
    seen = result["seen"]
    # What buyers saw: the "try again" page from the kill until the new primary served.
    outage = [at for at, _, status in seen.answers if at > killed and status == 503]
    until = max(outage, default=killed)
    during = seen.statuses(killed, until)
    print(
        f"primary {primary.name} killed {killed - started:.1f} s into the rush; Patroni promoted "
        f"{promoted.name} after {promotion:.2f} s; buyers got the try-again page until "
        f"{until - killed:.2f} s after the kill: {dict(during)} meanwhile ({during[503]} "
        f"try-again pages); in all {seen.statuses()}, {len(seen.paid)} paid"
    )
    assert promoted is not primary
    assert until - killed < 60
    _no_500s(scale, seen)
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
