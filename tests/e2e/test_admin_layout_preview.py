"""The auditorium preview in admin shows the whole hall at a glance, like the public seat map."""

import re
import tempfile
from pathlib import Path

from tests.e2e.stack import sign_in

SCREENSHOT = Path(tempfile.gettempdir()) / "admin_preview.png"


def test_admin_preview_of_the_grand_fits_the_page_with_small_seats(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base=stack[0], username="alice", path="/admin/cinema/auditorium/?q=Grand")
        href = page.locator("#result_list a", has_text="Grand").first.get_attribute("href")
        grand_id = re.match(r"/admin/cinema/auditorium/(\d+)/change/", href)[1]
        page.goto(f"{stack[0]}/admin/cinema/auditorium/{grand_id}/change/")
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        content_width = page.evaluate("document.documentElement.clientWidth")
        preview = page.locator(".admin-preview .seatmap").bounding_box()
        assert preview["x"] + preview["width"] <= content_width, preview
        rows = page.locator(".admin-preview .seatmap__rows").bounding_box()
        assert rows["x"] + rows["width"] <= preview["x"] + preview["width"], rows
        scroll = page.locator(".admin-preview .seatmap__scroll")
        assert scroll.evaluate("element => element.scrollWidth <= element.clientWidth")

        seats = [seat.bounding_box() for seat in page.locator(".admin-preview .seat[id]").all()]
        assert len(seats) > 400
        assert max(seat["width"] for seat in seats) <= 40
        assert max(seat["height"] for seat in seats) <= 40
    finally:
        context.close()
