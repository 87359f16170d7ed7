"""Passing a ticket on, in real browsers: the buyer passes one on by email, the door refuses its
old code, and the receiver opens the emailed link, signs up, confirms the address and finds the
ticket in their bookings, whose code then admits at the door."""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS, HOLD_TTL
from tests.e2e.stack import running_stack, sent_email
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_door import _buy, _door, _scan
from tests.e2e.test_live_seat_map import _a_showtime_path

SIZES = ({"width": 1366, "height": 900}, {"width": 390, "height": 844})
RECEIVER = "friend@example.com"


@pytest.fixture(scope="module")
def stack(mail_env):
    """The product with its notifier, sending its email into `maildir`."""
    with running_stack(
        redis_url=TEST_REDIS_URL,
        hold_ttl=HOLD_TTL,
        notifier=1,
        extra_env=mail_env,
    ) as urls:
        yield urls


def _axe_clean_at_both_sizes(page, name: str) -> None:
    for size in SIZES:
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}.png"), full_page=True)
        if AXE.exists():
            assert _violations(page) == [], (name, size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name


def _link(email, pattern: str) -> str:
    return re.search(pattern, email.get_body(preferencelist=("plain",)).get_content())[0]


def test_a_ticket_passed_on_reaches_its_receiver_and_only_the_new_code_admits(
    open_page, browser, stack, maildir
):
    ARTIFACTS.mkdir(exist_ok=True)
    path = _a_showtime_path(stack[0])
    buyer = open_page("alice", path)
    old_g7, _ = _buy(buyer, ["G7", "G8"])
    booking = buyer.url

    buyer.get_by_text("Pass tickets on…").click()
    _axe_clean_at_both_sizes(buyer, "pass-on-form")
    buyer.get_by_label("G7", exact=True).check()
    buyer.get_by_label("Their email address").fill(RECEIVER)
    buyer.get_by_role("button", name="Pass on").click()
    expect(buyer.locator("[data-transfer]")).to_contain_text(f"G7 to {RECEIVER}")
    expect(buyer.locator(".pass")).to_have_count(1)
    expect(buyer.locator(".pass")).to_contain_text("G8")
    _axe_clean_at_both_sizes(buyer, "passed-on")

    _door(buyer, stack[0], path)
    _scan(buyer, old_g7)
    expect(buyer.locator("[data-result]")).to_have_text("Void: transferred")

    email = sent_email(maildir, subject="passed on tickets", to=RECEIVER)
    transfer = _link(email, r"/transfers/\w+/")
    context = browser.new_context()
    receiver = context.new_page()
    try:
        receiver.goto(stack[0] + transfer)
        receiver.wait_for_url(re.compile(r"/accounts/login/\?next="))
        receiver.click("text=Create an account")
        receiver.fill("#id_email", RECEIVER)
        receiver.fill("#id_password1", "a-long-new-password-1")
        receiver.fill("#id_password2", "a-long-new-password-1")
        receiver.click(".auth-form button[type=submit]")
        receiver.wait_for_url(f"**{transfer}")
        receiver.get_by_role("button", name="Add to my bookings").click()
        expect(receiver.get_by_role("alert")).to_contain_text(f"Confirm {RECEIVER} first")

        confirm = sent_email(maildir, subject="Confirm", to=RECEIVER)
        receiver.goto(stack[0] + _link(confirm, r"/accounts/confirm-email/[^/\s]+/"))
        receiver.get_by_role("button", name="Confirm").click()
        receiver.wait_for_url(f"**{transfer}")
        receiver.get_by_role("button", name="Add to my bookings").click()
        expect(receiver.get_by_role("heading", name="Your ticket")).to_be_visible()
        expect(receiver.locator(".pass")).to_have_count(1)
        new_g7 = receiver.locator(".pass:has-text('G7')").get_attribute("data-code")
        assert new_g7 and new_g7 != old_g7
        _axe_clean_at_both_sizes(receiver, "passed-on-tickets")

        receiver.goto(f"{stack[0]}/bookings/")
        row = receiver.locator(".booking-row", has_text="Passed on to you")
        expect(row).to_contain_text("G7")
        _axe_clean_at_both_sizes(receiver, "passed-on-my-bookings")
    finally:
        context.close()

    _scan(buyer, new_g7)
    expect(buyer.locator("[data-result]")).to_have_text("Admit: G7 Adult")
    buyer.goto(booking)
    expect(buyer.locator("[data-transfer]")).to_contain_text("Claimed")
