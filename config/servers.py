"""The ASGI servers the product runs under, and the command that starts each.

WEB_SERVER picks one (daphne unless it says otherwise); `make run`, the browser tests' stack,
the benchmarks and the scale test all start theirs through `web_command`. Each is told the same:
WebSockets stay open as long as the viewer does, with a ping every 20 s (30 s to answer), the
client's address and scheme from X-Forwarded-For/-Proto only behind the balancer
(`proxy_headers`), no access log. The request body limit is the application's (infra.limits,
inside daphne's request class too); the time to send a request's headers
(HEADERS_TIMEOUT_SECONDS) is bounded inside daphne and uvicorn by infra.limits, by granian's own
option.

Granian has no WebSocket ping option: under it an idle seat map is kept open by the balancer's
tunnel timeout and the page's reconnecting, not by pings.
"""

import os
import sys
from collections.abc import Mapping

SERVERS = ("daphne", "uvicorn", "granian")
DEFAULT_SERVER = "daphne"
APPLICATION = "config.asgi:application"
# Behind the balancer: the same application, taking the client from X-Forwarded-* (granian
# has no option for it; daphne and uvicorn have one).
PROXIED_APPLICATION = "config.asgi:proxied_application"

# WebSockets stay open as long as the viewer does (daphne closes them daily by default); pings
# every 20 s keep proxies from dropping idle seat maps and find dead clients.
DAPHNE_OPTIONS = ["--websocket_timeout", "-1", "--ping-interval", "20", "--ping-timeout", "30"]
UVICORN_OPTIONS = [
    "--http",
    "httptools",
    "--loop",
    "uvloop",
    "--ws",
    "websockets-sansio",
    "--ws-ping-interval",
    "20",
    "--ws-ping-timeout",
    "30",
    # Channels' router has no lifespan protocol.
    "--lifespan",
    "off",
    "--no-access-log",
]
GRANIAN_OPTIONS = [
    # Channels' router has no lifespan protocol.
    "--interface",
    "asginl",
    "--loop",
    "uvloop",
    "--http",
    "1",
    "--workers",
    "1",
    "--no-access-log",
    "--log-level",
    "warning",
]


def server_name(environ: Mapping[str, str] | None = None) -> str:
    """The server WEB_SERVER names (daphne when unset); a clear error for any other name."""
    name = (environ if environ is not None else os.environ).get("WEB_SERVER") or DEFAULT_SERVER
    if name not in SERVERS:
        raise ValueError(f"WEB_SERVER={name!r}: expected one of {', '.join(SERVERS)}")
    return name


def web_command(
    server: str,
    host: str,
    port: int | str,
    *,
    proxy_headers: bool = False,
    environ: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The command serving the product with `server` on host:port; `environ` is the server's
    environment (granian takes its headers' time limit as an option)."""
    environ = os.environ if environ is None else environ
    port = str(port)
    if server == "daphne":
        proxy = ["--proxy-headers"] if proxy_headers else []
        return [
            python,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            port,
            *DAPHNE_OPTIONS,
            *proxy,
            APPLICATION,
        ]
    if server == "uvicorn":
        # Behind the balancer every address may forward (as daphne trusts the first address).
        proxy = ["--proxy-headers", "--forwarded-allow-ips", "*"] if proxy_headers else []
        return [
            python,
            "-m",
            "uvicorn",
            "--host",
            host,
            "--port",
            port,
            *UVICORN_OPTIONS,
            *(proxy or ["--no-proxy-headers"]),
            APPLICATION,
        ]
    if server == "granian":
        seconds = float(environ.get("HEADERS_TIMEOUT_SECONDS") or 10)
        # Granian's limit is in milliseconds, at most a minute; 0 in our setting means none,
        # which granian does not have: its longest stands in for it.
        limit = str(min(round(seconds * 1000), 60_000) if seconds > 0 else 60_000)
        return [
            python,
            "-m",
            "granian",
            "--host",
            host,
            "--port",
            port,
            *GRANIAN_OPTIONS,
            "--http1-header-read-timeout",
            limit,
            PROXIED_APPLICATION if proxy_headers else APPLICATION,
        ]
    raise ValueError(f"unknown server {server!r}: expected one of {', '.join(SERVERS)}")
