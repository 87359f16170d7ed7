"""The bookings list fits a 1366 px laptop screen without sideways scrolling."""

import re

from tests.e2e.stack import sign_in

CHANGELIST = "/admin/bookings/booking/"


def _hold(page, base: str, showtime_id: str, seats: list[str]) -> None:
    page.goto(f"{base}/showtimes/{showtime_id}/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    response = page.request.post(
        f"{base}/showtimes/{showtime_id}/hold/",
        form={"seats": seats[0], "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/showtimes/{showtime_id}/"},
        max_redirects=0,
    )
    assert response.status in (303, 409), response.status


def test_the_bookings_list_fits_1366_pixels(browser, stack):
    base = stack[0]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base=base, username="alice", path="/admin/cinema/showtime/")
        links = page.locator("#result_list a[href*='/admin/cinema/showtime/']").all()
        ids = [re.search(r"/showtime/(\d+)/", link.get_attribute("href"))[1] for link in links]
        for showtime_id, seat in zip(ids[:3], ["A1", "B2", "C3"], strict=False):
            _hold(page, base, showtime_id, [seat])
        page.goto(f"{base}{CHANGELIST}")
        assert page.locator("#result_list tbody tr").count() >= 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, width
    finally:
        context.close()
