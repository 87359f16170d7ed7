"""A Redis Cluster master killed under a command: the command waits for its replica's promotion
(within REDIS_FAILOVER_SECONDS) and answers, instead of failing as an outage at once. A real
cluster of the test's own (tests/scale/cluster.py: cluster-node-timeout 1 s)."""

import shutil
import time

import pytest
import redis

from infra.redis import get_redis
from tests.scale.cluster import redis_cluster
from tests.scale.stack import wait_for

pytestmark = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-cli")), reason="no redis-server"
)

KEY = "hold:{st1}:A1"
# On another master than KEY's (slot 5076 against 9143): its failover is a second one.
OTHER = "hold:{st2}:A1"


@pytest.fixture(scope="module")
def cluster():
    with redis_cluster() as running:
        yield running


def test_a_command_rides_through_a_master_failover(cluster, settings):
    settings.REDIS_CLUSTER_URL = cluster.url
    client = get_redis()
    client.set(KEY, "token")
    master = cluster.master_of(KEY)
    # Its replica in sync, with the key, before its master dies (a replica still syncing from
    # a master just created never takes over).
    assert wait_for(lambda: master.client().wait(1, 500) == 1, 30)
    cluster.kill(master)
    killed = time.monotonic()
    try:
        value = client.get(KEY)
    except redis.RedisError as error:
        pytest.fail(f"{error!r} {time.monotonic() - killed:.2f} s after the kill")
    answered = time.monotonic() - killed
    assert value == "token"
    # The node asked for the cluster's view may hear of the promotion a moment after the client.
    assert wait_for(lambda: cluster.moved_from(KEY, master), 5, every=0.05)
    # Not answered by the dead master's connection: after the promotion (node timeout 1 s plus
    # the election), within the budget.
    assert 1 < answered < settings.REDIS_FAILOVER_SECONDS, answered


def test_a_pipeline_rides_through_a_master_failover(cluster, settings):
    settings.REDIS_CLUSTER_URL = cluster.url
    cluster.wait_ok()
    client = get_redis()
    client.set(OTHER, "token")
    master = cluster.master_of(OTHER)
    assert wait_for(lambda: master.client().wait(1, 500) == 1, 30)
    cluster.kill(master)
    killed = time.monotonic()
    pipe = client.pipeline(transaction=False)
    pipe.get(OTHER)
    pipe.exists(OTHER)
    try:
        answers = pipe.execute()
    except redis.RedisError as error:
        pytest.fail(f"{error!r} {time.monotonic() - killed:.2f} s after the kill")
    assert answers == ["token", 1]
    assert wait_for(lambda: cluster.moved_from(OTHER, master), 5, every=0.05)


def test_the_health_check_does_not_wait_for_a_failover(cluster, settings):
    settings.REDIS_CLUSTER_URL = cluster.url
    cluster.wait_ok()
    get_redis().set(KEY, "token")
    master = cluster.master_of(KEY)
    cluster.kill(master)
    killed = time.monotonic()
    with pytest.raises(redis.RedisError):
        get_redis(timeout=0.5).get(KEY)
    assert time.monotonic() - killed < 1
