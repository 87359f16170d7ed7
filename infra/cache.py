"""Django's Redis cache with one set of connections per process.

Django makes a cache object per thread, and under ASGI every request runs on a thread of its
own, so each request's cache object opened its own connection pool: a new TCP connection (and
its health check) to Redis on every request that read the session. In the rush that was a fifth
of the web processes' busy time. Here every cache object of a process with the same LOCATION
and OPTIONS uses one client, and so one pool; and one redis-py client object per pool: Django
makes a new one for every cache call, which costs more CPU than the call's round trip (a
fifth of a millisecond each, measured for the waiting room's join at the edge).
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class OneClientPerPool(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._by_pool = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._by_pool.get(id(pool))
        if client is None:
            # A redis-py client is safe to share between threads: each command takes a
            # connection from the pool.
            client = self._by_pool.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneClientPerPool

    @property
    def _cache(self) -> RedisCacheClient:
        key = repr((self._servers, sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, self._class(self._servers, **self._options))
        return client
