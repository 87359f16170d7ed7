"""The hold countdown warns, visibly and to screen readers, with a minute left and at zero."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import HOLD_TTL
from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live


def test_the_countdown_warns_with_a_minute_left_and_at_zero(open_page, stack):
    path = _a_showtime_path(stack[0])
    page = open_page("alice", path)
    _wait_live(page)
    page.click("#seat-H5")
    page.click("text=Hold seats")
    page.wait_for_url("**/bookings/*/")

    # The hold is HOLD_TTL seconds long, so it starts inside the last minute.
    warning = page.get_by_role("status").filter(has_text="Less than a minute left to pay")
    expect(warning).to_be_visible()
    expect(page.locator(".countdown")).to_have_class(re.compile("countdown--urgent"))

    ended = page.get_by_role("alert").filter(has_text="Your hold has run out")
    expect(ended).to_be_visible(timeout=(HOLD_TTL + 2) * 1000)
    expect(warning).to_have_count(0)
    expect(page.locator(".pay-form button")).to_be_disabled()
