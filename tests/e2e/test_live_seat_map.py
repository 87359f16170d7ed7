"""Two people on one showtime, in a real browser: everything one does, the other sees live."""

import re
import urllib.request

from playwright.sync_api import expect

from tests.e2e.conftest import HOLD_TTL

LIVE = 1_000  # ms: what "live" means for a viewer


def _a_showtime_path(base: str) -> str:
    """A showtime in the Grand, whose seats the tests name (the film's first showtime of the
    day may be in a smaller hall, depending on the time the tests run)."""
    html = urllib.request.urlopen(f"{base}/movies/the-long-orbit/").read().decode()
    return re.search(r'href="(/showtimes/\d+/)"><strong>[^<]*</strong> <span>[^<]*Grand', html)[1]


def _wait_live(page):
    expect(page.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")


def _two_viewers(open_page, stack):
    """Alice and Bruno signed in on the same showtime, both maps live."""
    path = _a_showtime_path(stack[0])
    alice = open_page("alice", path)
    bruno = open_page("bruno", path)
    _wait_live(alice)
    _wait_live(bruno)
    return path, alice, bruno


def test_holds_purchases_and_timeouts_reach_the_other_viewer_live(open_page, stack):
    path, alice, bruno = _two_viewers(open_page, stack)

    alice.click("#seat-E10")
    alice.click("#seat-E11")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")
    for label in ("E10", "E11"):
        expect(bruno.locator(f"#seat-{label}")).to_have_class(
            re.compile("seat--held"), timeout=LIVE
        )
    expect(bruno.locator("#seat-E10 input")).to_have_count(0)

    alice.click("text=Pay £")
    alice.fill("#card", "4242 4242 4242 4242")
    alice.fill("#exp", "12 / 39")
    alice.fill("#cvc", "123")
    alice.click("button.pay")
    expect(alice.locator(".status--confirmed")).to_be_visible(timeout=15_000)
    for label in ("E10", "E11"):
        expect(bruno.locator(f"#seat-{label}")).to_have_class(
            re.compile("seat--booked"), timeout=LIVE
        )

    alice.goto(stack[0] + path)
    _wait_live(alice)
    alice.click("#seat-F3")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")
    expect(bruno.locator("#seat-F3")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    # The hold times out; the sweeper frees it and every viewer gets the seat back.
    expect(bruno.locator("#seat-F3")).to_have_class(
        re.compile("seat--available"), timeout=(HOLD_TTL + 3) * 1000
    )
    errors = [m.text for m in bruno.console_messages if m.type == "error"]
    assert errors == [], errors


def test_a_seat_taken_by_someone_else_cannot_be_held(open_page, stack):
    _, alice, bruno = _two_viewers(open_page, stack)

    bruno.click("#seat-G7")
    bruno.click("#seat-G8")
    alice.click("#seat-G8")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")

    expect(bruno.locator("#seat-G8")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    notice = bruno.get_by_role("status").filter(has_text="G8 was just taken")
    expect(notice).to_be_visible()
    # Beside the action, and there until dismissed (no timer: alice's hold ends in 4 s).
    expect(bruno.locator(".selection-bar .seat-notice-region")).to_have_count(1)
    bruno.wait_for_timeout(2000)
    expect(notice).to_be_visible()
    bruno.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_hidden()
    expect(bruno.locator("#seat-G7 input")).to_be_checked()
    expect(bruno.locator("[data-selected-count]")).to_have_text("1")

    # Even a stale form that still asks for G8 is refused with the seat named.
    bruno.evaluate(
        """() => {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = 'seats'; input.value = 'G8';
            document.getElementById('seat-form').appendChild(input);
        }"""
    )
    on_the_map = bruno.url
    bruno.click("text=Hold seats")
    expect(bruno.locator(".alert--error")).to_contain_text("Taken: G8")
    expect(bruno.locator("#seat-G7 input")).to_be_checked()
    # Refused through htmx: the map and the message were swapped in, the page stayed (a plain
    # form post would have landed on the hold URL), and the live map is still connected.
    assert bruno.url == on_the_map
    expect(bruno.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")


def test_the_map_reconnects_after_the_server_closes_cleanly(open_page, stack):
    path = _a_showtime_path(stack[0])
    bruno = open_page("bruno", path)
    _wait_live(bruno)
    # Close the socket cleanly (code 1000) from the client side of the wire.
    bruno.evaluate(
        "() => document.getElementById('seatmap')['htmx-internal-data']"
        ".webSocket.socket.close(1000)"
    )
    expect(bruno.locator("[data-live-status]")).to_have_attribute(
        "data-live-status", "reconnecting"
    )
    _wait_live(bruno)
