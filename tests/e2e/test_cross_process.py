"""Two daphne processes: a hold made through one reaches a viewer connected to the other."""

import asyncio
import http.cookiejar
import re
import urllib.parse
import urllib.request

import websockets

from tests.e2e.stack import PASSWORD
from tests.e2e.test_live_seat_map import _a_showtime_path


class Browserless:
    """Signs in and posts forms like a browser would: session cookie and CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.opener.open(f"{base}/accounts/login/")
        self.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})

    def post(self, path: str, data: dict) -> int:
        token = next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}, doseq=True)
        return self.opener.open(self.base + path, body.encode()).status


def test_a_hold_through_one_process_reaches_a_viewer_on_another(stack):
    first, second = stack
    showtime_id = re.search(r"\d+", _a_showtime_path(first))[0]
    alice = Browserless(first)

    async def watch_and_hold() -> str:
        url = second.replace("http", "ws") + f"/ws/showtimes/{showtime_id}/"
        async with websockets.connect(url, origin=second) as socket:
            full_map = await asyncio.wait_for(socket.recv(), 5)
            assert 'id="seat-D7"' in full_map
            await asyncio.to_thread(
                alice.post, f"/showtimes/{showtime_id}/hold/", {"seats": ["D7"]}
            )
            return await asyncio.wait_for(socket.recv(), 5)

    fragment = asyncio.run(watch_and_hold())
    assert re.findall(r'class="seat seat--(\w+) [^"]*" id="seat-([A-Z]+\d+)"', fragment) == [
        ("held", "D7")
    ]
