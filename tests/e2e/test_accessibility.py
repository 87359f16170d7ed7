"""axe-core finds no violation on the pages people use, at desktop and phone sizes.

axe-core comes from npm (tests/e2e/axe, installed by `make test`), injected from disk: no CDN.
It is evaluated through the browser's debugging protocol, so the pages keep their strict CSP.
"""

import re
from pathlib import Path

import pytest

from tests.e2e.stack import sign_in
from tests.e2e.test_live_seat_map import _a_showtime_path

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Every staff page a cashier, a programmer or a manager works in: the back office's own pages,
# the lists and forms of the main models (a change page of each is opened from its list's first
# row), and the pages of the showtime and the booking the test has just made.
STAFF_PAGES = [
    "/admin/",
    "/admin/live-holds/",
    "/admin/audit-feed/",
    "/admin/system/",
    "/admin/sales/",
    "/admin/reports/",
    "/admin/reports/?group=week",
    "/admin/reports/?group=month",
    "/admin/reports/?from=2026-12-05&to=2026-11-01",  # refused: the problem said
    "/admin/cinema/venue/",  # the one cinema page: the list is its change form
    "/admin/waiting-room/",
    "/admin/bookings/refund/",
    "/admin/cinema/showtime/add/",
    "/admin/cinema/movie/add/",
    "/admin/cinema/pricelist/add/",
    "/admin/cinema/voucher/add/",
    "/admin/cinema/voucher/generate/",
]
STAFF_LISTS = [
    "/admin/bookings/booking/",
    "/admin/bookings/ticket/",
    "/admin/bookings/payment/",
    "/admin/audit/auditevent/",
    "/admin/cinema/showtime/",
    "/admin/cinema/movie/",
    "/admin/cinema/auditorium/",
    "/admin/cinema/pricelist/",
    "/admin/cinema/tickettype/",
    "/admin/cinema/voucher/",
    "/admin/cinema/genre/",
    "/admin/cinema/seat/",
]
# Each showtime and booking page, for the showtime and booking the test made.
SHOWTIME_PAGES = ["/admin/live-holds/{id}/", "/admin/sales/{id}/", "/admin/waiting-room/{id}/"]
BOOKING_PAGES = ["/admin/bookings/booking/{id}/change/", "/admin/bookings/booking/{id}/refund/"]


def _violations(page) -> list[str]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("(tags) => axe.run(document, {runOnly: tags})", RULES)
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize(
    ("width", "height", "user", "seat"), [(1366, 900, "alice", "H5"), (390, 844, "bruno", "H9")]
)
def test_no_axe_violations_on_any_page(browser, stack, width, height, user, seat):
    if not AXE.exists():
        pytest.skip(f"accessibility checks need axe-core at {AXE} (make test installs it with npm)")
    base = stack[0]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    found = {}

    def check(name: str) -> None:
        found[name] = _violations(page)

    try:
        for path in [
            "/",
            "/movies/the-long-orbit/",
            # Filters chosen: their removable chips, and a listing that may come out empty.
            "/?format=3d&kind=relaxed&kind=wheelchair",
            "/movies/the-long-orbit/?kind=subtitled&kind=audio-described",
            "/visit/",
            "/accounts/login/",
            "/accounts/signup/",
        ]:
            page.goto(base + path)
            check(path)
        showtime = _a_showtime_path(base)
        sign_in(page, base=base, username=user, path=showtime)
        page.wait_for_selector('[data-live-status="live"]')
        check("showtime")
        page.click("#seat-list summary")
        page.wait_for_selector("#seat-list form")
        check("showtime, the list mode open")
        zoom = page.locator("[data-seatmap-zoom]")
        zoomable = zoom.is_visible()  # a phone's map opens on the whole hall, and zooms in
        if zoomable:
            zoom.click()
            check("showtime zoomed in")
        page.click(f"#seat-{seat}")
        page.click("#seat-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        check("checkout")
        page.fill("#voucher-code", "DEMO10")
        page.click(".voucher-form button[type=submit]")
        page.wait_for_selector("#voucher-note")
        check("checkout, voucher applied")
        page.click(".pay-form button")
        page.wait_for_url(re.compile(r".*/mock-gateway/checkout/[\w-]+/$"))
        check("gateway")
        page.fill("#card", "4242 4242 4242 4242")
        page.fill("#exp", "12 / 39")
        page.fill("#cvc", "123")
        page.click("button.pay")
        page.wait_for_selector(".status--confirmed")
        check("ticket")
        ref = re.search(r"/bookings/(\w+)/", page.url)[1]
        page.goto(base + "/bookings/")
        check("my bookings")
        # The stack's users are staff.
        for path in STAFF_PAGES:
            page.goto(base + path)
            if path == "/admin/cinema/venue/":
                assert page.url.endswith("/admin/cinema/venue/1/change/"), page.url
            check(path)
            if path == "/admin/":
                lines = page.eval_on_selector_all(
                    "#back-office th a", "links => links.map(link => link.getClientRects().length)"
                )
                assert lines and set(lines) == {1}, f"a page's name wraps on the index: {lines}"
        for path in STAFF_LISTS:
            page.goto(base + path)
            check(path)
            page.goto(base + page.get_attribute("#result_list tbody tr th a", "href"))
            check(f"{path} first row")
        page.goto(base + "/admin/cinema/showtime/")
        page.check("#result_list tbody tr:first-child .action-select")
        page.select_option("select[name=action]", "set_kinds")
        page.click("button[name=index]")
        page.wait_for_selector("text=Set these kinds")
        check("set screening kinds")
        showtime_id = re.search(r"\d+", showtime)[0]
        for path in SHOWTIME_PAGES:
            page.goto(base + path.format(id=showtime_id))
            check(path)
        page.goto(f"{base}/admin/bookings/booking/?q={ref}")
        booking_id = re.search(
            r"/(\d+)/change/", page.get_attribute("#result_list tbody th a", "href")
        )
        for path in BOOKING_PAGES:
            page.goto(base + path.format(id=booking_id[1]))
            check(path)
    finally:
        context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
    staff_pages = len(STAFF_PAGES) + 2 * len(STAFF_LISTS) + len(SHOWTIME_PAGES)
    assert len(found) == 15 + staff_pages + len(BOOKING_PAGES) + zoomable
