"""Time from one viewer's hold to another viewer's seat map showing it, in real browsers.

    .venv/bin/python bench/live_latency.py [--tries 20]

Starts the product (daphne + sweeper, SQLite, the Redis at REDIS_URL, default database 14, emptied
first: holds of an earlier run would still be there), signs two users in two
Chromium contexts on one showtime; A ticks a seat and submits "Hold seats"; B's page records
when that seat turns held. Prints every try and the median, p90 and max in milliseconds.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import redis
from playwright.sync_api import sync_playwright

from tests.e2e.stack import running_stack, sign_in

CHROMIUM = "/usr/bin/chromium"
# On B's page: note the moment the seat turns held.
WATCH = """(label) => {
    window.seenAt = null;
    const observer = new MutationObserver(() => {
        const seat = document.getElementById('seat-' + label);
        if (seat && seat.classList.contains('seat--held')) {
            observer.disconnect();
            window.seenAt = Date.now();
        }
    });
    const map = document.getElementById('seatmap');
    observer.observe(map, {subtree: true, childList: true, attributes: true});
}"""
HOLD = """(label) => {
    const ticked = document.querySelectorAll('input[name=seats]:checked');
    ticked.forEach((input) => { input.checked = false; });
    document.querySelector('#seat-' + label + ' input').checked = true;
    const started = Date.now();
    document.getElementById('seat-form').requestSubmit();
    return started;
}"""


def wait_seen(page, timeout: float = 10.0) -> int:
    """Poll for the in-page timestamp (string predicates would need eval, which the CSP bans)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = page.evaluate("() => window.seenAt")
        if seen:
            return seen
        time.sleep(0.01)
    raise TimeoutError("the other viewer never saw the hold")


def open_signed_in(browser, base: str, username: str, path: str):
    page = browser.new_context().new_page()
    sign_in(page, base=base, username=username, path=path)
    page.wait_for_selector('[data-live-status="live"]')
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(redis_url).flushdb()
    with running_stack(redis_url=redis_url) as (base,), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        path = "/showtimes/1/"
        alice = open_signed_in(browser, base, "alice", path)
        bruno = open_signed_in(browser, base, "bruno", path)
        latencies = []
        for n in range(args.tries):
            label = f"H{n + 1}"
            bruno.evaluate(WATCH, label)
            started = alice.evaluate(HOLD, label)
            latency = wait_seen(bruno) - started
            latencies.append(latency)
            print(f"try {n + 1:2d}: {label:4s} {latency:5d} ms")
            alice.wait_for_url("**/bookings/*/")
            alice.goto(base + path)
            alice.wait_for_selector('[data-live-status="live"]')
        browser.close()
    latencies.sort()
    median = statistics.median(latencies)
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(
        f"hold -> other viewer's DOM, {len(latencies)} tries: "
        f"median {median:.0f} ms, p90 {p90:.0f} ms, max {latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
