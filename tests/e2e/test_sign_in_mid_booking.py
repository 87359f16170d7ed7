"""Signed out on the seat map, in a real browser: signing in or up keeps the seats picked."""

import re

from playwright.sync_api import expect

from tests.e2e.stack import PASSWORD
from tests.e2e.test_live_seat_map import _a_showtime_path


def _pick_two_seats_and_hold(page, *, base: str, path: str):
    page.goto(base + path)
    page.click("#seat-H5")
    page.click("#seat-H6")
    page.click("text=Hold seats")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))


def _lands_on_the_map_with_the_two_seats_ticked(page, *, path: str):
    page.wait_for_url(re.compile(re.escape(path) + r"\?seats=H5&seats=H6$"))
    expect(page.locator("#seat-H5 input")).to_be_checked()
    expect(page.locator("#seat-H6 input")).to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text("2")


def test_signing_in_to_hold_comes_back_to_the_picked_seats(browser, stack):
    path = _a_showtime_path(stack[0])
    context = browser.new_context()
    page = context.new_page()
    try:
        _pick_two_seats_and_hold(page, base=stack[0], path=path)
        page.fill("#id_login", "alice@example.com")
        page.fill("#id_password", PASSWORD)
        page.click(".auth-form button[type=submit]")
        _lands_on_the_map_with_the_two_seats_ticked(page, path=path)
    finally:
        context.close()


def test_signing_up_to_hold_comes_back_to_the_picked_seats(browser, stack):
    path = _a_showtime_path(stack[0])
    context = browser.new_context()
    page = context.new_page()
    try:
        _pick_two_seats_and_hold(page, base=stack[0], path=path)
        page.click("text=Create an account")
        page.fill("#id_email", "newcomer@example.com")
        page.fill("#id_password1", "a-long-new-password-1")
        page.fill("#id_password2", "a-long-new-password-1")
        page.click(".auth-form button[type=submit]")
        _lands_on_the_map_with_the_two_seats_ticked(page, path=path)
    finally:
        context.close()
