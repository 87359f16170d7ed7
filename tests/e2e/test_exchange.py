"""Changing a paid booking's seats in the browser, at desktop and phone sizes: from the ticket to
the film's showtimes, the seat map picking new seats, the summary, and the new tickets; axe-core
finds nothing on any of those pages."""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.stack import running_stack, sign_in
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path


@pytest.fixture(scope="module")
def stack():
    """Holds long enough for the pages to be checked between picking the seats and confirming."""
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=120) as urls:
        yield urls


def _pick(page, seat: str) -> None:
    page.wait_for_selector('[data-live-status="live"]')
    zoom = page.locator("[data-seatmap-zoom]")
    if zoom.is_visible():  # a phone's map opens on the whole hall
        zoom.click()
    page.click(f"#seat-{seat}")
    page.click("#seat-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bookings/\w+/$"))


@pytest.mark.parametrize(
    ("width", "height", "user", "seat", "new_seat"),
    [(1366, 900, "alice", "H5", "H8"), (390, 844, "bruno", "H13", "H16")],
)
def test_a_customer_moves_their_paid_seat_with_no_axe_violations(
    browser, stack, width, height, user, seat, new_seat
):
    if not AXE.exists():
        pytest.skip(f"accessibility checks need axe-core at {AXE} (make test installs it with npm)")
    base = stack[0]
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    found = {}

    def check(name: str) -> None:
        found[name] = _violations(page)

    # A later day's show: today's may start within REFUND_CUTOFF_HOURS, when changes are closed.
    showtime = _a_showtime_path(base, from_day=1)
    sign_in(page, base=base, username=user, path=showtime)
    _pick(page, seat)
    page.click(".pay-form button")
    page.wait_for_url(re.compile(r".*/mock-gateway/checkout/[\w-]+/$"))
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    page.wait_for_selector(".status--confirmed")
    old = page.url.replace("/paid/", "/")
    check("ticket")

    page.get_by_role("link", name="Change seats or time").click()
    expect(page.get_by_role("heading", name="Change seats or time")).to_be_visible()
    check("showtimes to change to")
    page.get_by_role("link", name=re.compile("other seats, same time")).click()
    expect(page.locator("[data-exchanging]")).to_contain_text(seat)
    check("seat map, changing seats")
    _pick(page, new_seat)
    expect(page.locator("[data-exchange] caption")).to_contain_text("Changing booking")
    expect(page.locator("[data-difference]")).to_contain_text("0.00")
    check("the change's summary")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_role("status").first).to_contain_text("Your booking is changed")
    expect(page.locator(".ticket__facts")).to_contain_text(new_seat)
    check("new tickets")
    page.goto(old)
    expect(page.locator(".status--exchanged")).to_be_visible()
    expect(page.get_by_text("no longer work")).to_be_visible()
    check("the old booking")
    page.context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
