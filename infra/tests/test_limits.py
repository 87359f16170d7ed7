"""Request body and WebSocket limits, through a real daphne and through the ASGI application."""

import asyncio
import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from asgiref.testing import ApplicationCommunicator
from websockets.exceptions import ConnectionClosed, InvalidStatus

from config.asgi import application
from conftest import TEST_REDIS_URL
from infra.limits import TOO_MANY_SOCKETS
from tests.e2e.stack import daphne_pids, running_stack

HEADERS_SECONDS = 2
PER_ADDRESS = 4
PER_SESSION = 2
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    env = {
        "WEBSOCKET_MAX_PER_ADDRESS": str(PER_ADDRESS),
        "WEBSOCKET_MAX_PER_SESSION": str(PER_SESSION),
        "HEADERS_TIMEOUT_SECONDS": str(HEADERS_SECONDS),
    }
    with running_stack(redis_url=TEST_REDIS_URL, extra_env=env) as (base,):
        html = urllib.request.urlopen(f"{base}/movies/paper-lanterns/").read().decode()
        showtime_id = re.search(r'href="/showtimes/(\d+)/"', html).group(1)
        yield base, showtime_id


def _memory_kb(pid: int) -> tuple[int, int]:
    """(resident now, resident at its peak) of a process, in kB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    status = dict(line.split(":", 1) for line in lines)
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def _post(base: str, head: str, chunks=(), *, chunked: bool) -> tuple[bytes, float]:
    """Send a POST to the hold URL, stopping when the server stops listening; return the start
    of the answer and the seconds it took."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            f"POST /showtimes/1/hold/ HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{head}\r\n".encode()
        )
        try:
            for chunk in chunks:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # refused mid-body: the answer is already on its way
        return sock.recv(200), time.monotonic() - started


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server):
    base, _ = server
    answer, seconds = _post(base, f"Content-Length: {3 * 1024 * MB}\r\n", chunked=False)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert seconds < 1


def test_a_streamed_body_over_the_limit_is_refused_without_the_server_holding_it(server):
    base, _ = server
    (pid,) = daphne_pids([base])
    _post(base, "Transfer-Encoding: chunked\r\n", [b"seats=A1"], chunked=True)  # warm up
    rss_before, peak_before = _memory_kb(pid)

    fifty_mb = (b"a" * 65536 for _ in range(50 * 16))
    answer, _ = _post(base, "Transfer-Encoding: chunked\r\n", fifty_mb, chunked=True)

    rss_after, peak_after = _memory_kb(pid)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert peak_after - peak_before < 5 * 1024, (peak_before, peak_after)
    assert rss_after - rss_before < 5 * 1024, (rss_before, rss_after)


def test_a_body_under_the_limit_still_reaches_the_site(server):
    base, _ = server
    nine_mb = (b"a" * 65536 for _ in range(9 * 16))
    answer, _ = _post(base, "Transfer-Encoding: chunked\r\n", nine_mb, chunked=True)
    # Django's own answer to an anonymous form post (no CSRF token, or over its form data limit).
    assert re.match(rb"HTTP/1.1 4(?!13)\d\d ", answer), answer


async def _open(base: str, showtime_id: str, session: str = "", path: str = ""):
    url = base.replace("http", "ws") + (path or f"/ws/showtimes/{showtime_id}/")
    headers = {"Cookie": f"sessionid={session}"} if session else None
    return await websockets.connect(url, origin=base, additional_headers=headers)


async def _close_code(socket_) -> int | None:
    """The close code if the server closes the socket now; None while it stays open."""
    try:
        while True:
            await asyncio.wait_for(socket_.recv(), 1)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


def test_one_session_gets_its_limit_and_another_session_still_connects(server):
    base, showtime_id = server

    async def scenario():
        mine = [await _open(base, showtime_id, "a" * 32) for _ in range(PER_SESSION)]
        one_too_many = await _open(base, showtime_id, "a" * 32)
        other = await _open(base, showtime_id, "b" * 32)
        codes = [await _close_code(s) for s in (*mine, one_too_many, other)]
        for s in (*mine, other):
            await s.close()
        return codes

    assert asyncio.run(scenario()) == [None] * PER_SESSION + [TOO_MANY_SOCKETS, None]


def test_one_address_gets_its_limit_and_a_closed_socket_frees_its_place(server):
    base, showtime_id = server

    async def scenario():
        sockets = [await _open(base, showtime_id) for _ in range(PER_ADDRESS)]
        one_too_many = await _open(base, showtime_id)
        over = await _close_code(one_too_many)
        await sockets.pop().close()
        await asyncio.sleep(0.5)
        again = await _open(base, showtime_id)
        codes = [await _close_code(s) for s in (*sockets, again)]
        for s in (*sockets, again):
            await s.close()
        return over, codes

    assert asyncio.run(scenario()) == (TOO_MANY_SOCKETS, [None] * PER_ADDRESS)


def test_connections_that_fail_inside_the_application_are_not_counted_forever(server):
    base, showtime_id = server

    async def scenario():
        for _ in range(PER_ADDRESS + 2):
            # No route: the router raises inside the application, and daphne answers 500.
            with pytest.raises(InvalidStatus):
                await _open(base, showtime_id, path="/ws/no-such-route/")
        sockets = [await _open(base, showtime_id) for _ in range(PER_ADDRESS)]
        codes = [await _close_code(s) for s in sockets]
        for s in sockets:
            await s.close()
        return codes

    assert asyncio.run(scenario()) == [None] * PER_ADDRESS


async def _http(scope_headers, chunks):
    """Run one POST through the ASGI application; return the response status."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/showtimes/1/hold/",
        "raw_path": b"/showtimes/1/hold/",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *scope_headers],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    for index, chunk in enumerate(chunks):
        await communicator.send_input(
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        )
    start = await communicator.receive_output(timeout=5)
    await communicator.wait(timeout=5)
    return start["status"]


@pytest.mark.django_db
async def test_the_application_refuses_too_large_bodies_under_any_server(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    declared = [(b"content-length", b"1001")]
    assert await _http(declared, [b"a" * 1001]) == 413
    assert await _http([], [b"a" * 600, b"a" * 600]) == 413
    # Within the limit the request reaches Django, which refuses it for want of a CSRF token.
    assert await _http([], [b"a" * 600, b"a" * 400]) == 403


def _closed_after(sock: socket.socket, trickle: bytes, *, every: float = 0.25) -> float:
    """Send `trickle` a byte at a time until the server closes the connection; the seconds."""
    started = time.monotonic()
    sock.setblocking(False)
    for byte in trickle:
        try:
            sock.send(bytes([byte]))
            if sock.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        time.sleep(every)
    return time.monotonic() - started


def test_headers_trickled_a_byte_at_a_time_are_cut_off(server):
    """Fifty clients each sending a request's headers a byte every quarter second (they would
    take 30 s): every one is closed once HEADERS_SECONDS have passed."""
    base, _ = server
    host, port = base.removeprefix("http://").split(":")
    head = f"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Slow: {'x' * 100}\r\n\r\n".encode()
    sockets = [socket.create_connection((host, int(port)), timeout=10) for _ in range(50)]
    started = time.monotonic()
    for offset in range(len(head)):
        open_ones = []
        for sock in sockets:
            try:
                sock.send(head[offset : offset + 1])
                open_ones.append(sock)
            except OSError:
                sock.close()
        sockets = open_ones
        if not sockets or time.monotonic() - started > HEADERS_SECONDS + 3:
            break
        time.sleep(0.25)
    took = time.monotonic() - started
    for sock in sockets:
        sock.close()
    assert not sockets, f"{len(sockets)} still open after {took:.1f} s"
    assert HEADERS_SECONDS - 0.5 < took < HEADERS_SECONDS + 3


def test_a_kept_alive_connection_gets_the_same_time_for_its_next_request(server):
    base, _ = server
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 ")
        idle = _closed_after(sock, b"GET /health HTTP/1.1\r\n" + b"X" * 200)
    assert HEADERS_SECONDS - 0.5 < idle < HEADERS_SECONDS + 3


def test_a_slow_body_and_an_open_websocket_are_not_cut_off(server):
    """The clock is for the headers alone: a body may come slowly, a seat map stays open."""
    base, showtime_id = server

    async def watch() -> None:
        url = base.replace("http", "ws") + f"/ws/showtimes/{showtime_id}/"
        async with websockets.connect(url, origin=base) as socket_:
            await asyncio.wait_for(socket_.recv(), 5)
            await asyncio.sleep(HEADERS_SECONDS + 1.5)
            await socket_.ping()

    asyncio.run(watch())
    body = [b"seats=A1"[n : n + 1] for n in range(8)]
    started = time.monotonic()
    answer, _ = _post(
        base, "Content-Length: 8\r\n", _slowly(body, HEADERS_SECONDS + 1), chunked=False
    )
    assert time.monotonic() - started > HEADERS_SECONDS
    assert answer.startswith(b"HTTP/1.1 "), answer


def _slowly(chunks: list[bytes], seconds: float):
    for chunk in chunks:
        time.sleep(seconds / len(chunks))
        yield chunk
