"""Per-user rate limits on hold and release, counted in Redis so every process shares them."""

import time

from django.conf import settings

from bookings.errors import RateLimited
from infra.redis import get_redis


def check_rate(*, user=None, action: str, who: str = "") -> None:
    """Count one `action` for the user (or for `who`, such as an API token); raise RateLimited
    past the configured limit."""
    limit, window = settings.RATE_LIMITS[action]
    bucket = int(time.time() // window)
    key = f"ratelimit:{action}:{who or user.pk}:{bucket}"
    pipe = get_redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, window)
    count, _ = pipe.execute()
    if count > limit:
        wait = window - int(time.time()) % window
        raise RateLimited(f"Too many requests. Wait {wait} seconds and try again.", wait=wait)
