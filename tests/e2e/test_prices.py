"""Buying at real prices in the browser: an Adult and a Child ticket in a premium row, the demo
voucher's 10 % off, and the same total on the checkout, the ticket page and the email."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from cinema.management.commands.seed_demo import DEMO_VOUCHER, PRICE_LISTS
from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS, HOLD_TTL
from tests.e2e.stack import running_stack, sent_email
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def stack(mail_env):
    """The product with its notifier, sending email into `maildir`."""
    with running_stack(
        redis_url=TEST_REDIS_URL,
        hold_ttl=HOLD_TTL,
        extra_env=mail_env,
        notifier=True,
    ) as urls:
        yield urls


def _money(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


def _expected(price_list: str) -> tuple[Decimal, Decimal]:
    """What an Adult and a Child ticket in a premium seat cost on the list, with the demo
    voucher's percentage off each."""
    prices = PRICE_LISTS[price_list]
    premium = Decimal(prices["supplements"]["premium"])
    off = Decimal(DEMO_VOUCHER[1]) / 100
    paid = []
    for kind in ("Adult", "Child"):
        amount = Decimal(prices["prices"][kind]) + premium
        paid.append(amount - (amount * off).quantize(CENT, ROUND_HALF_UP))
    return paid[0], paid[1]


def test_an_adult_and_a_child_in_a_premium_row_with_the_demo_voucher(open_page, stack, maildir):
    page = open_page("alice", _a_showtime_path(stack[0]))
    _wait_live(page)
    price_list = page.locator("#price-key-title").inner_text().removesuffix(" prices")
    adult, child = _expected(price_list)
    page.click("#seat-L10")
    page.click("#seat-L11")
    expect(page.locator("[data-selected-total]")).to_have_text(
        _money(2 * Decimal(PRICE_LISTS[price_list]["prices"]["Adult"]) + 2 * _premium(price_list))
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "showtime-prices.png"))
    page.click("text=Hold seats")
    page.wait_for_url("**/bookings/*/")
    ref = page.url.rstrip("/").rsplit("/", 1)[-1]

    # Every seat starts as Adult; the Child ticket and the voucher reprice it in place (htmx).
    page.evaluate("window.stillTheSamePage = true")
    child_type = page.locator("#type-L11 option", has_text="Child").get_attribute("value")
    page.select_option("#type-L11", value=child_type)
    expect(page.locator("[data-line=L11]")).to_contain_text(
        _money(Decimal(PRICE_LISTS[price_list]["prices"]["Child"]) + _premium(price_list))
    )
    page.fill("#voucher-code", DEMO_VOUCHER[0].lower())
    page.click("text=Apply")
    total = _money(adult + child)
    expect(page.locator("[data-total]")).to_have_text(total)
    expect(page.locator("[data-line=L10]")).to_contain_text(_money(adult))
    expect(page.locator("[data-line=L11]")).to_contain_text(_money(child))
    assert page.evaluate("window.stillTheSamePage") is True
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "checkout-390.png"), full_page=True)
    if AXE.exists():  # the checkout with a voucher applied, on a phone
        assert _violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click(f"text=Pay {total}")
    page.wait_for_url(re.compile(r".*/mock-gateway/checkout/cs_test_[\w-]+/$"))
    expect(page.get_by_text(total).first).to_be_visible()
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    page.wait_for_url("**/bookings/*/paid/")
    expect(page.get_by_role("heading", name="Your ticket")).to_be_visible(timeout=15_000)
    expect(page.locator(".ticket__facts")).to_contain_text(total)
    expect(page.locator("[data-ticket=L10]")).to_contain_text(_money(adult))
    expect(page.locator("[data-ticket=L11]")).to_contain_text(_money(child))
    expect(page.locator(".passes")).to_contain_text("Child")
    page.screenshot(path=str(ARTIFACTS / "ticket.png"), full_page=True)

    email = sent_email(maildir, subject=ref)
    text = email.get_body(("plain",)).get_content()
    assert f"Paid:       {total}" in text, text
    assert f"L10 Adult, Premium: {_money(adult)}" in text, text
    assert f"L11 Child, Premium: {_money(child)}" in text, text
    assert f"{DEMO_VOUCHER[0]}, " in text


def _premium(price_list: str) -> Decimal:
    return Decimal(PRICE_LISTS[price_list]["supplements"]["premium"])
