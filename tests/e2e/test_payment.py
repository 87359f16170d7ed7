"""Paying in the browser: the gateway's own page, a declined card, then a good one, and the
ticket appearing on the return page by itself once the gateway's webhook has landed."""

import re

from playwright.sync_api import expect

from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live


def test_a_declined_card_then_a_good_one_lands_on_the_ticket_without_a_reload(open_page, stack):
    page = open_page("alice", _a_showtime_path(stack[0]))
    _wait_live(page)
    page.click("#seat-G7")
    page.click("text=Hold seats")
    page.wait_for_url("**/bookings/*/")
    page.click("text=Pay £")
    page.wait_for_url(re.compile(r".*/mock-gateway/checkout/cs_test_[\w-]+/$"))
    expect(page.get_by_text("TEST MODE", exact=False).first).to_be_visible()

    page.fill("#card", "4000 0000 0000 0002")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")

    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    page.wait_for_url("**/bookings/*/paid/")
    # From here on the page must not load again: the ticket arrives by htmx.
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator(".status--confirmed")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("heading", name="Your ticket")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    # The declined card's page is answered with 402, which the browser logs; nothing else may be.
    errors = [m.text for m in page.console_messages if m.type == "error" and "402" not in m.text]
    assert errors == [], errors
