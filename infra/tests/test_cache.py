"""The cache (sessions, sign-in rate limits) reuses its Redis connections across requests."""

import threading

from django.core.cache import caches


def test_every_request_thread_shares_one_connection_pool(redis_db):
    # Under ASGI each request runs on a thread of its own, and Django makes a cache object per
    # thread: each used to open its own pool, so a new Redis connection per request.
    pools = []

    def a_request(n: int) -> None:
        cache = caches["default"]
        cache.set(f"key-{n}", n)
        assert cache.get(f"key-{n}") == n
        pools.append(cache._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=a_request, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pools) == 5
    assert len({id(pool) for pool in pools}) == 1
