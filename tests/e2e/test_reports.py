"""A manager's period report in the browser: the period picked, the charts with their text, and
a CSV download whose figures are the bookings the test has just paid for."""

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.stack import running_stack, sign_in
from tests.e2e.test_live_seat_map import _a_showtime_path

SIZES = [(1366, 900), (390, 844)]


@pytest.fixture(scope="module")
def stack():
    # Holds long enough to pay at a browser's pace.
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=300) as urls:
        yield urls


def _buy(page, base: str, seats: list[str]) -> Decimal:
    """Buy `seats` of a Grand showtime with the mock's test card; what was paid."""
    page.goto(base + _a_showtime_path(base))
    page.wait_for_selector('[data-live-status="live"]')
    for seat in seats:
        page.click(f"#seat-{seat}")
    page.click("#seat-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
    total = Decimal(re.sub(r"[^\d.]", "", page.inner_text("[data-total]")))
    page.click(".pay-form button")
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    page.wait_for_selector(".status--confirmed")
    return total


def _csv(page, link: str) -> list[dict]:
    with page.expect_download() as download:
        page.get_by_role("link", name=link).click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_manager_reads_the_period_and_downloads_its_figures(browser, stack):
    base = stack[0]
    today = date.today().isoformat()
    pages = []
    try:
        for width, height in SIZES:
            context = browser.new_context(
                viewport={"width": width, "height": height}, accept_downloads=True
            )
            pages.append(context.new_page())
        laptop, phone = pages
        sign_in(laptop, base=base, username="alice", path="/")
        paid = _buy(laptop, base, ["H5", "H6"]) + _buy(laptop, base, ["J7"])

        laptop.goto(base + "/admin/reports/")
        laptop.fill("#report-from", today)
        laptop.fill("#report-to", today)
        laptop.select_option("#report-group", "day")
        laptop.click(".period-form button[type=submit]")
        laptop.wait_for_url(re.compile(rf".*from={today}&to={today}&group=day"))

        # Each chart is an image named by its title and described in words, beside its table.
        charts = laptop.locator("svg.sales-chart[role=img]")
        expect(charts).to_have_count(2)
        for chart in charts.all():
            names = chart.get_attribute("aria-labelledby").split()
            texts = [laptop.locator(f"[id='{name}']").text_content().strip() for name in names]
            assert all(texts), texts
        expect(laptop.locator("#revenue tfoot")).to_contain_text(f"£{paid}")

        revenue = _csv(laptop, "Revenue by day as CSV")
        assert [(row["from"], row["payments"], Decimal(row["taken"])) for row in revenue] == [
            (today, "2", paid)
        ]
        assert Decimal(revenue[0]["net"]) == paid and Decimal(revenue[0]["refunded"]) == 0
        films = _csv(laptop, "Films as CSV")
        assert [(row["film"], row["tickets"], Decimal(row["net"])) for row in films] == [
            ("The Long Orbit", "3", paid)
        ]

        sign_in(phone, base=base, username="bruno", path="/admin/")
        phone.goto(laptop.url)
        expect(phone.locator("svg.sales-chart")).to_have_count(2)
        # The page fits the phone: only the tables' own regions scroll sideways.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        for (width, _), page in zip(SIZES, pages, strict=False):
            page.screenshot(path=str(ARTIFACTS / f"reports-{width}.png"), full_page=True)
            page.context.close()
