"""Django's Redis cache with one set of connections per process.

Django makes a cache object per thread, and under ASGI every request runs on a thread of its
own, so each request's cache object opened its own connection pool: a new TCP connection (and
its health check) to Redis on every request that read the session. In the rush that was a fifth
of the web processes' busy time. Here every cache object of a process with the same LOCATION
and OPTIONS uses one client, and so one pool.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @property
    def _cache(self) -> RedisCacheClient:
        key = repr((self._servers, sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, self._class(self._servers, **self._options))
        return client
