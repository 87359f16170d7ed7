"""A seat map open over its WebSocket, as a page keeps it, for tests that need no browser.

A thread connects (through a balancer or straight to a daphne), puts the map together from the
full map sent on connect and the fragments after it, applying a seat's fragment only when it is
newer than what it shows (`data-v`, as static/js/seatmap.js does), and reconnects (so resyncs)
when the connection drops.
"""

import re
import threading
import time
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

SEAT = re.compile(r'<(?:label|span) class="seat seat--(\w+) [^"]*" id="seat-([A-Z]+\d+)"([^>]*)>')
VERSION = re.compile(r'data-v="(\d+)"')
FULL_MAP = re.compile(r'id="seatmap-rows"[^>]*')
# What a viewer's map may show for a seat nobody has bought (nor holds).
OPEN = {"available", "mine", "blocked"}


class Viewer(threading.Thread):
    """The seat map of `showtime` open at `base` (a daphne or the balancer): `seats` is each
    seat's state as the messages left it, `versions` the version each shows."""

    def __init__(self, base: str, showtime: int, *, cookie: str = ""):
        super().__init__(daemon=True)
        self.url = f"ws://{urlsplit(base).netloc}/ws/showtimes/{showtime}/"
        self.origin = base
        self.headers = {"Cookie": cookie} if cookie else {}
        self.seats: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.connections = 0  # connections that got their full map
        self.dropped_at: list[float] = []
        self.resynced_at: list[float] = []
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                with connect(
                    self.url,
                    origin=self.origin,
                    additional_headers=self.headers,
                    open_timeout=5,
                ) as ws:
                    while not self.stopping.is_set():
                        try:
                            message = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        self.apply(message)
            except (ConnectionClosed, InvalidHandshake, OSError):
                if not self.stopping.is_set():
                    self.dropped_at.append(time.monotonic())
                    time.sleep(0.2)

    def apply(self, message: str) -> None:
        """Take in one message as the page does: the full map replaces everything (it is the
        first message of every connection); a seat's fragment only replaces an older state."""
        full = FULL_MAP.search(message)
        if full:
            version = VERSION.search(full.group())
            base = int(version[1]) if version else 0
            self.seats, self.versions = {}, {}
        for state, label, rest in SEAT.findall(message):
            version = VERSION.search(rest)
            version = int(version[1]) if version else base if full else 0
            if full or version > self.versions.get(label, 0) or not version:
                self.seats[label] = state
                self.versions[label] = version
        if full:
            self.connections += 1
            if self.dropped_at:
                self.resynced_at.append(time.monotonic())
            self.ready.set()

    def stop(self):
        self.stopping.set()
        self.join(10)

    def wrong(self, sold: set[str], held: set[str] = frozenset()) -> list[str]:
        """Seats this viewer shows otherwise than the database (`sold`) and Redis (`held`): sold
        but not shown sold, held but not shown held, or shown taken though neither."""
        return sorted(
            label
            for label, state in self.seats.items()
            if (label in sold and state != "booked")
            or (label in held and label not in sold and state != "held")
            or (label not in sold and label not in held and state not in OPEN)
        )

    def shows(self, label: str) -> str | None:
        return self.seats.get(label)
