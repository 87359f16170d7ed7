"""Signed out on the seat map, in a real browser: signing in or up keeps the seats picked, and
so does the link in the sign-up email."""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS, HOLD_TTL
from tests.e2e.stack import PASSWORD, running_stack, sent_email
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path

SIZES = ({"width": 1366, "height": 900}, {"width": 390, "height": 844})


@pytest.fixture(scope="module")
def stack(mail_env):
    """The product sending its email into `maildir`, where the tests read the sign-up link."""
    with running_stack(
        redis_url=TEST_REDIS_URL,
        hold_ttl=HOLD_TTL,
        extra_env=mail_env,
    ) as urls:
        yield urls


def _sign_up(page, email: str):
    page.click("text=Create an account")
    page.fill("#id_email", email)
    page.fill("#id_password1", "a-long-new-password-1")
    page.fill("#id_password2", "a-long-new-password-1")
    page.click(".auth-form button[type=submit]")


def _axe_clean_at_both_sizes(page, name: str) -> None:
    for size in SIZES:
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}.png"), full_page=True)
        if AXE.exists():
            assert _violations(page) == [], (name, size)


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
        _sign_up(page, "newcomer@example.com")
        _lands_on_the_map_with_the_two_seats_ticked(page, path=path)
    finally:
        context.close()


def test_sign_up_keeps_seats(browser, stack, maildir):
    """Opening the sign-up email's link comes back to the seats picked before signing up."""
    path = _a_showtime_path(stack[0])
    context = browser.new_context()
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _pick_two_seats_and_hold(page, base=stack[0], path=path)
        _sign_up(page, "linked@example.com")
        _lands_on_the_map_with_the_two_seats_ticked(page, path=path)
        email = sent_email(maildir, subject="Confirm", to="linked@example.com")
        link = re.search(r"/accounts/confirm-email/[^/\s]+/", email.get_content())[0]

        page.goto(stack[0] + link)
        _axe_clean_at_both_sizes(page, "sign-up-confirm")
        page.get_by_role("button", name="Confirm").click()

        _lands_on_the_map_with_the_two_seats_ticked(page, path=path)
        _axe_clean_at_both_sizes(page, "sign-up-back-to-seats")
        page.click("text=Hold seats")
        page.wait_for_url(re.compile(r"/bookings/\w+/$"))
        expect(page.locator("body")).to_contain_text("H5")
    finally:
        context.close()
