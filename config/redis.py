"""The one Redis connection pool per process, built from REDIS_URL."""

from functools import cache
from pathlib import Path
from types import SimpleNamespace

import redis
from django.conf import settings
from redis.commands.core import Script


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


def load_script(client: redis.Redis, path: Path) -> Script:
    """A Lua script from `path`, registered with `client` and loaded into Redis now.

    The Script object reloads itself after NOSCRIPT (SCRIPT FLUSH, failover). Loading up front
    keeps the first call off that path, which the embedded dev server answers by disconnecting.
    """
    script = client.register_script(path.read_text())
    client.script_load(script.script)
    return script


@cache
def lua_scripts(client: redis.Redis, directory: Path) -> SimpleNamespace:
    """Every `<name>.lua` in `directory`, loaded with `client` (`load_script`), as the attribute
    `<name>`: one set per client and folder, made on first use."""
    return SimpleNamespace(
        **{path.stem: load_script(client, path) for path in sorted(directory.glob("*.lua"))}
    )
