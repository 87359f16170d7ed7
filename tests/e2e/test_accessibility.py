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
STAFF_PAGES = [
    "/admin/",
    "/admin/live-holds/",
    "/admin/audit-feed/",
    "/admin/system/",
    "/admin/sales/",
]


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
        for path in ["/", "/movies/the-long-orbit/", "/accounts/login/", "/accounts/signup/"]:
            page.goto(base + path)
            check(path)
        showtime = _a_showtime_path(base)
        sign_in(page, base=base, username=user, path=showtime)
        page.wait_for_selector('[data-live-status="live"]')
        check("showtime")
        zoom = page.locator("[data-seatmap-zoom]")
        zoomable = zoom.is_visible()  # a phone's map opens on the whole hall, and zooms in
        if zoomable:
            zoom.click()
            check("showtime zoomed in")
        page.click(f"#seat-{seat}")
        page.click("#seat-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        check("checkout")
        page.click(".pay-form button")
        page.wait_for_url(re.compile(r".*/mock-gateway/checkout/[\w-]+/$"))
        check("gateway")
        page.fill("#card", "4242 4242 4242 4242")
        page.fill("#exp", "12 / 39")
        page.fill("#cvc", "123")
        page.click("button.pay")
        page.wait_for_selector(".status--confirmed")
        check("ticket")
        page.goto(base + "/bookings/")
        check("my bookings")
        for path in STAFF_PAGES:  # the stack's users are staff
            page.goto(base + path)
            check(path)
    finally:
        context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert len(found) == 9 + len(STAFF_PAGES) + zoomable
