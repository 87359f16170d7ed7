"""A buyer whose captioned screening is cancelled opens the link of the email, sees the other
captioned screening with the seats they would get, and moves there with one button; the pages
(the choice, the moved booking, the link used again) pass axe at desktop and phone sizes."""

import re

from playwright.sync_api import expect

from tests.e2e.stack import sign_in
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path

SIZES = [(1366, 900), (390, 844)]
# Run in the stack's database: the booked showtime and the next of the same film get open
# captions, then staff cancel the booked one; prints the buyer's link to move.
CANCEL = """
from bookings.models import Booking
from bookings.services import access_changes
from cinema.models import Showtime
booking = Booking.objects.get(ref={ref!r})
booked = booking.showtime
later = Showtime.objects.filter(movie=booked.movie, starts_at__gt=booked.starts_at)
later = later.order_by("starts_at").first()
Showtime.objects.filter(pk__in=[booked.pk, later.pk]).update(open_captions=True)
booked.refresh_from_db()
access_changes.cancel_showtime(showtime=booked, actor=None)
print(access_changes.choice_path(booking.change_notices.get(), "move"))
"""


def test_a_buyer_moves_from_a_cancelled_captioned_screening(browser, stack):
    base = stack[0]
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            if AXE.exists():
                found[f"{name} at {width}px"] = _violations(page)
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"{name} is wider than {width}px"

    try:
        showtime = _a_showtime_path(base)
        sign_in(page, base=base, username="carla", path=showtime)
        expect(page.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")
        page.click("#seat-H7")
        page.click("#seat-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        ref = re.search(r"/bookings/(\w+)/", page.url)[1]
        page.click(".pay-form button")
        page.wait_for_url(re.compile(r".*/mock-gateway/checkout/[\w-]+/$"))
        page.fill("#card", "4242 4242 4242 4242")
        page.fill("#exp", "12 / 39")
        page.fill("#cvc", "123")
        page.click("button.pay")
        page.wait_for_selector(".status--confirmed")

        move = stack.manage("shell", "-c", CANCEL.format(ref=ref)).stdout.strip().splitlines()[-1]
        page.reload()
        expect(page.locator("[data-screening-change]")).to_contain_text("cancelled")
        check("booking with a change to answer")

        page.goto(base + move)
        expect(page.locator("h1")).to_have_text("Move your booking")
        expect(page.locator("h2")).to_contain_text("with open captions")
        check("move page")
        page.locator("[data-move-to] button").first.click()
        page.wait_for_url(f"**/bookings/{ref}/")
        expect(page.get_by_text("Your booking has moved to")).to_be_visible()
        expect(page.locator(".status--confirmed")).to_be_visible()
        expect(page.locator("[data-screening-change]")).to_have_count(0)
        check("moved booking")

        answered = page.goto(base + move)
        assert answered.status == 409
        expect(page.get_by_role("alert")).to_contain_text("You have moved this booking already")
        check("link used again")
    finally:
        context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
