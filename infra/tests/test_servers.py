"""Each ASGI server the product runs under (config.servers) bounds the time to send a request's
headers, for a new connection and a kept-alive one, and the commands say what each is told."""

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from config.servers import SERVERS, server_name, web_command
from conftest import TEST_REDIS_URL
from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
HEADERS_SECONDS = 1.5


@contextmanager
def serving(server: str):
    """`server` on a free loopback port with a short headers' limit; yields (host, port)."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "REDIS_URL": TEST_REDIS_URL,
        "HEADERS_TIMEOUT_SECONDS": str(HEADERS_SECONDS),
    }
    command = web_command(server, "127.0.0.1", port, environ=env)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"{server} exited with {process.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{server} did not listen in 60 s"
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _seconds_until_closed(sock: socket.socket, trickle: bytes, every: float = 0.25) -> float:
    """Send `trickle` a byte every `every` seconds until the server closes the connection (or
    three times the limit has passed); the seconds that took."""
    started = time.monotonic()
    for byte in trickle:
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        if time.monotonic() - started > 3 * HEADERS_SECONDS:
            break
        time.sleep(every)
    return time.monotonic() - started


@pytest.mark.parametrize("server", SERVERS)
def test_every_server_cuts_off_headers_trickled_a_byte_at_a_time(server):
    with serving(server) as (host, port):
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 100
        with socket.create_connection((host, port), timeout=10) as sock:
            took = _seconds_until_closed(sock, head)
        assert HEADERS_SECONDS - 0.5 < took < HEADERS_SECONDS + 1.5, took

        # A kept-alive connection gets the same time for its next request's headers.
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 ")
            idle = _seconds_until_closed(sock, b"GET /health HTTP/1.1\r\n" + b"X" * 200)
        assert HEADERS_SECONDS - 0.5 < idle < HEADERS_SECONDS + 1.5, idle


def test_each_command_keeps_sockets_open_and_reads_proxy_headers_only_behind_the_balancer():
    daphne = web_command("daphne", "0.0.0.0", 8000, proxy_headers=True)  # noqa: S104
    assert daphne[-2:] == ["--proxy-headers", "config.asgi:application"]
    assert {"--websocket_timeout", "-1", "--ping-interval", "20"} <= set(daphne)
    uvicorn = web_command("uvicorn", "127.0.0.1", 8000)
    assert "--no-proxy-headers" in uvicorn
    assert {"--ws-ping-interval", "20", "--ws-ping-timeout", "30", "httptools"} <= set(uvicorn)
    behind = web_command("uvicorn", "127.0.0.1", 8000, proxy_headers=True)
    assert behind[behind.index("--forwarded-allow-ips") + 1] == "*"
    granian = web_command("granian", "127.0.0.1", 8000, environ={"HEADERS_TIMEOUT_SECONDS": "2"})
    assert granian[granian.index("--http1-header-read-timeout") + 1] == "2000"
    assert granian[-1] == "config.asgi:application"
    proxied = web_command("granian", "127.0.0.1", 8000, proxy_headers=True, environ={})
    assert proxied[-1] == "config.asgi:proxied_application"


def test_an_unknown_server_name_is_a_clear_error():
    assert server_name({}) == "daphne"
    assert server_name({"WEB_SERVER": "granian"}) == "granian"
    with pytest.raises(ValueError, match="expected one of daphne, uvicorn, granian"):
        server_name({"WEB_SERVER": "gunicorn"})
