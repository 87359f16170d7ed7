"""The waiting room in the browser: two buyers queue for a room with one shopping slot; the first
is let in and buys, the second watches their place move over the WebSocket and is let in without
reloading; a third, whose browser cannot open a WebSocket, is kept up to date by polling. A
visitor who has not signed in sees the queue and takes no place."""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS, HOLD_TTL
from tests.e2e.stack import running_stack, sign_in
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_door import _buy
from tests.e2e.test_live_seat_map import _a_showtime_path


@pytest.fixture(scope="module")
def stack():
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=HOLD_TTL, waiting_room=True) as urls:
        yield urls


def _without_websockets(browser, base: str, path: str):
    """A customer whose browser (or network) cannot open a WebSocket."""
    page = browser.new_context().new_page()
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    sign_in(page, base=base, username="carla", path=path)
    return page


def test_the_second_buyer_is_let_in_live_when_the_first_has_bought(open_page, stack, browser):
    path = _a_showtime_path(stack[0])
    showtime = re.search(r"/showtimes/(\d+)/", path)[1]
    queue = f"/showtimes/{showtime}/queue/"
    stack.manage("waiting_room", "on", showtime, "--max-active", "1")
    stack.manage("waiting_room", "pause", showtime)
    alice = open_page("alice", queue)
    bruno = open_page("bruno", queue)
    expect(alice.locator("[data-ahead]")).to_have_text("0")
    expect(bruno.locator("[data-ahead]")).to_have_text("1")
    carla = _without_websockets(browser, stack[0], queue)
    expect(carla.locator("[data-ahead]")).to_have_text("2")
    bruno.evaluate("window.stillTheSamePage = true")
    # Live over the WebSocket, the page's polling stands down (it is the fallback).
    polls = []
    bruno.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    bruno.set_viewport_size({"width": 390, "height": 844})
    ARTIFACTS.mkdir(exist_ok=True)
    bruno.screenshot(path=str(ARTIFACTS / "queue-390.png"), full_page=True)
    if AXE.exists():
        assert _violations(bruno) == []

    # A visitor who has not signed in sees the queue, and takes no place in it.
    visitor = browser.new_context().new_page()
    visitor.goto(stack[0] + queue)
    expect(visitor.locator(".queue-place__ahead")).to_have_text("3 people are waiting.")
    expect(visitor.locator("text=Sign in to take your place")).to_be_visible()
    if AXE.exists():
        assert _violations(visitor) == []
    visitor.context.close()

    stack.manage("waiting_room", "resume", showtime)
    # Alice's page takes her to the seat map when her turn comes; Bruno moves up, live.
    alice.wait_for_url(f"**{path}", timeout=15_000)
    expect(bruno.locator("[data-ahead]")).to_have_text("0", timeout=10_000)
    assert bruno.evaluate("window.stillTheSamePage") is True
    expect(bruno.locator("#place[data-at]")).to_have_count(1)  # pushed, not polled
    assert polls == []
    _buy(alice, ["J7"])
    # Buying freed Alice's slot: Bruno is let in and sent to the seats, without a reload.
    bruno.wait_for_url(f"**{path}", timeout=15_000)
    # Carla's page, with no WebSocket, kept up by asking every 2 s.
    expect(carla.locator("[data-ahead]")).to_have_text("0", timeout=10_000)
    expect(carla.locator("#place[data-at]")).to_have_count(0)
    carla.context.close()
    bruno.click("#seat-J8")  # beside Alice's J7: J9 would leave J8 on its own
    bruno.click("text=Hold seats")
    bruno.wait_for_url("**/bookings/*/")


def test_staff_watch_and_pause_the_room(open_page, stack):
    path = _a_showtime_path(stack[0])
    showtime = re.search(r"/showtimes/(\d+)/", path)[1]
    stack.manage("waiting_room", "on", showtime)
    page = open_page("alice", f"/admin/waiting-room/{showtime}/")
    expect(page.locator("#room-figures")).to_contain_text("Room on")
    page.click("text=Pause: let nobody new in")
    expect(page.locator("#room-figures")).to_contain_text("Room paused")
    expect(page.locator(".messagelist")).to_contain_text("The waiting room is changed.")
    page.set_viewport_size({"width": 390, "height": 844})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "waiting-room-staff-390.png"), full_page=True)
    if AXE.exists():
        assert _violations(page) == []
    stack.manage("waiting_room", "off", showtime)
