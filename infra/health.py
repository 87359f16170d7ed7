"""Whether this process reaches the database and Redis now, each asked within CHECK_TIMEOUT seconds
(`/health` and the back office's System page ask)."""

from django.db import connection
from psycopg_pool import PoolTimeout

from infra.errors import pool_is_full
from infra.redis import get_redis

CHECK_TIMEOUT = 1.0


def database_ok() -> bool:
    try:
        pool = getattr(connection, "pool", None)
        if pool is None:
            # No pool: a fresh connection, bounded by the connect timeout in the settings.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        else:
            # Not Django's connection, whose pool would wait DATABASE_POOL_TIMEOUT.
            pool.open()
            with pool.connection(timeout=CHECK_TIMEOUT) as pooled:
                pooled.execute("SELECT 1")
        return True
    except PoolTimeout:
        return pool_is_full(pool)
    except Exception:
        return False


def redis_ok() -> bool:
    try:
        return bool(get_redis(timeout=CHECK_TIMEOUT).ping())
    except Exception:
        return False
