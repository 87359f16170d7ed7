"""The one Redis connection pool per process, built from REDIS_URL."""

from functools import cache

import redis
from django.conf import settings


def get_redis() -> redis.Redis:
    """Return a client on the current REDIS_URL (pooled, decoded to str)."""
    return _client_for(settings.REDIS_URL)


@cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
    )
