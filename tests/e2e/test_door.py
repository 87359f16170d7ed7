"""The door in the browser: a typed (or USB-scanned) code admits once, and a door that loses
its network keeps checking tickets and uploads them when it is back."""

import json
import re

from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live


def _buy(page, seats: list[str]) -> list[str]:
    """Alice, on the seat map, buys `seats` and reads their codes off her ticket page."""
    _wait_live(page)
    for seat in seats:
        page.click(f"#seat-{seat}")
    page.click("text=Hold seats")
    page.wait_for_url("**/bookings/*/")
    page.click("text=Pay £")
    page.wait_for_url(re.compile(r".*/mock-gateway/checkout/cs_test_[\w-]+/$"))
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    expect(page.get_by_role("heading", name="Your ticket")).to_be_visible(timeout=15_000)
    return [page.locator(f".pass:has-text('{seat}')").get_attribute("data-code") for seat in seats]


def _door(page, base: str, path: str) -> str:
    showtime = re.search(r"/showtimes/(\d+)/", path)[1]
    page.goto(f"{base}/checkin/{showtime}/")
    expect(page.locator("#door")).to_have_attribute("data-ready", "yes")
    return showtime


def _scan(page, code: str) -> None:
    page.fill("#code", code)
    page.press("#code", "Enter")


def test_a_typed_code_admits_then_the_same_code_is_refused(open_page, stack):
    path = _a_showtime_path(stack[0])
    page = open_page("alice", path)
    (code,) = _buy(page, ["G7"])
    _door(page, stack[0], path)
    result = page.locator("[data-result]")
    _scan(page, code)
    expect(result).to_have_text("Admit: G7 Adult")
    expect(result).to_have_class(re.compile("door__result--admit"))
    expect(page.locator("[data-in]")).to_have_text("1")
    _scan(page, code)
    expect(result).to_have_text(re.compile(r"^Already checked in at \d\d:\d\d by alice, Door 1$"))
    expect(result).to_have_class(re.compile("door__result--already"))
    _scan(page, "not a ticket")
    expect(result).to_have_text("Not a valid ticket")
    expect(page.locator("#code")).to_be_focused()
    page.set_viewport_size({"width": 390, "height": 844})
    _scan(page, code)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "door-390.png"), full_page=True)
    if AXE.exists():
        assert _violations(page) == []


def test_offline_the_door_checks_three_tickets_and_uploads_them_when_back(open_page, stack):
    path = _a_showtime_path(stack[0])
    page = open_page("alice", path)
    codes = _buy(page, ["H5", "H6", "H7"])
    showtime = _door(page, stack[0], path)
    before = int(page.locator("[data-in]").inner_text())
    page.context.set_offline(True)
    for seat, code in zip(["H5", "H6", "H7"], codes, strict=True):
        _scan(page, code)
        expect(page.locator("[data-result]")).to_have_text(f"Admit: {seat} Adult")
    expect(page.locator("[data-offline]")).to_have_text("Offline: 3 scans waiting")
    expect(page.locator("[data-in]")).to_have_text(str(before + 3))
    _scan(page, codes[0])  # the same ticket again, still offline
    expect(page.locator("[data-result]")).to_have_text(re.compile("^Already checked in"))

    page.context.set_offline(False)
    expect(page.locator("[data-offline]")).to_be_hidden(timeout=10_000)
    expect(page.locator("[data-in]")).to_have_text(str(before + 3))
    counts = json.loads(
        page.evaluate(
            f"fetch('/checkin/{showtime}/counts.json', {{headers: {{Accept: 'application/json'}}}})"
            ".then(r => r.text())"
        )
    )
    assert counts["in"] == before + 3
