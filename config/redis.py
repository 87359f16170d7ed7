"""The one Redis connection pool per process, built from REDIS_URL."""

from functools import cache

import redis
from django.conf import settings


def get_redis(*, timeout: float | None = None) -> redis.Redis:
    """Return a client on the current REDIS_URL (pooled, decoded to str).

    Connecting and every reply wait REDIS_CONNECT_TIMEOUT and REDIS_TIMEOUT seconds, or
    `timeout` for both (a check that must answer quickly, like /health).
    """
    if timeout is None:
        return _client_for(
            settings.REDIS_URL, settings.REDIS_CONNECT_TIMEOUT, settings.REDIS_TIMEOUT
        )
    return _client_for(settings.REDIS_URL, timeout, timeout)


@cache
def _client_for(url: str, connect_timeout: float, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=connect_timeout,
        socket_timeout=timeout,
    )
