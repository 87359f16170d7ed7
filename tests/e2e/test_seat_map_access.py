"""The seat map works on a phone, from the keyboard alone, with a screen reader, and as a list."""

import re

from playwright.sync_api import expect

from tests.e2e.stack import sign_in
from tests.e2e.test_live_seat_map import LIVE, _a_showtime_path, _wait_live

SEAT_INPUTS = "#seatmap-rows .seat input"
SEAT_NAME = re.compile(
    r"^[A-Z]+\d+, (standard seat|premium seat|VIP recliner|wheelchair space|companion seat), "
    r"(available|held for you)$"
)


def _open(browser, stack, *, user, width=1366, height=900, javascript=True):
    context = browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=javascript
    )
    page = context.new_page()
    path = _a_showtime_path(stack[0])
    sign_in(page, base=stack[0], username=user, path=path)
    if javascript:
        _wait_live(page)
    return page


def _focused_seat(page) -> str | None:
    return page.evaluate(
        "() => document.activeElement.closest('#seatmap-rows .seat') ? "
        "document.activeElement.value : null"
    )


def _tab_stops_in_grid(page) -> int:
    return page.locator(f'{SEAT_INPUTS}:not([tabindex="-1"])').count()


def test_on_a_phone_the_hall_scrolls_in_its_box_with_big_enough_seats(browser, stack):
    page = _open(browser, stack, user="alice", width=390, height=844)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        smallest = page.evaluate(
            """() => Math.min(...Array.from(document.querySelectorAll('#seatmap-rows .seat'),
                (seat) => Math.min(seat.getBoundingClientRect().width,
                                   seat.getBoundingClientRect().height)))"""
        )
        assert smallest >= 24
        box = page.locator(".seatmap__scroll")
        assert box.evaluate("(box) => box.scrollWidth > box.clientWidth")
        box.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
        label_left, box_left = box.evaluate(
            """(box) => [box.querySelector('.seatrow__label').getBoundingClientRect().left,
                         box.getBoundingClientRect().left]"""
        )
        assert label_left >= box_left - 1  # the row letter is still in view
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.context.close()


def test_keyboard_alone_picks_seats_and_holds_them(browser, stack):
    page = _open(browser, stack, user="bruno")
    try:
        page.focus(".showtime-head .back")
        page.keyboard.press("Tab")
        first = _focused_seat(page)
        assert first is not None
        assert _tab_stops_in_grid(page) == 1

        page.keyboard.press("ArrowRight")
        right = _focused_seat(page)
        assert right != first and right[0] == first[0]
        page.keyboard.press("ArrowDown")
        below = _focused_seat(page)
        assert below[0] > right[0]
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowRight")
        assert _focused_seat(page) == below
        page.keyboard.press("Space")
        expect(page.locator(f'input[value="{below}"]').first).to_be_checked()
        page.keyboard.press("ArrowRight")
        second = _focused_seat(page)
        page.keyboard.press("Enter")
        expect(page.locator(f"#seat-{second} input")).to_be_checked()
        assert _tab_stops_in_grid(page) == 1

        presses = 0
        while page.evaluate("document.activeElement.textContent.trim()") != "Hold seats":
            page.keyboard.press("Tab")
            presses += 1
            assert presses <= 3, "Hold seats is more than three Tab presses after the grid"
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        expect(page.locator("body")).to_contain_text(below)
        expect(page.locator("body")).to_contain_text(second)
    finally:
        page.context.close()


def test_the_roving_seat_survives_live_updates(browser, stack):
    bruno = _open(browser, stack, user="bruno")
    alice = _open(browser, stack, user="alice")
    try:
        bruno.focus(".showtime-head .back")
        bruno.keyboard.press("Tab")
        for _ in range(3):
            bruno.keyboard.press("ArrowRight")
        focused = _focused_seat(bruno)

        alice.click(f"#seat-{focused}")
        alice.click("text=Hold seats")
        alice.wait_for_url("**/bookings/*/")

        expect(bruno.locator(f"#seat-{focused}")).to_have_class(
            re.compile("seat--held"), timeout=LIVE
        )
        assert _tab_stops_in_grid(bruno) == 1
        now = _focused_seat(bruno)
        assert now is not None and now != focused and now[0] == focused[0]
        bruno.keyboard.press("ArrowRight")
        assert _focused_seat(bruno) not in (None, now)
    finally:
        alice.context.close()
        bruno.context.close()


def test_every_seat_tells_its_label_kind_and_state(browser, stack):
    alice = _open(browser, stack, user="alice")
    bruno = _open(browser, stack, user="bruno")
    try:
        names = bruno.locator(SEAT_INPUTS).evaluate_all(
            "(inputs) => inputs.map((input) => input.getAttribute('aria-label'))"
        )
        assert names and all(SEAT_NAME.match(name) for name in names), names[:5]
        expect(bruno.get_by_role("checkbox", name="E10, standard seat, available")).to_have_count(1)
        wheelchair = bruno.locator("#seatmap-rows .seat--accessible input").first
        expect(wheelchair).to_have_accessible_name(re.compile(r", wheelchair space, available$"))
        expect(wheelchair).to_have_accessible_description(re.compile("wheelchair", re.I))
        companion = bruno.locator("#seatmap-rows .seat--companion input").first
        expect(companion).to_have_accessible_description(re.compile("companion", re.I))
        recliner = bruno.locator("#seatmap-rows .seat--vip input").first
        expect(recliner).to_have_accessible_name(re.compile(r", VIP recliner, available$"))
        expect(recliner).to_have_accessible_description(re.compile("reclining", re.I))

        alice.click("#seat-E10")
        alice.click("text=Hold seats")
        alice.wait_for_url("**/bookings/*/")
        expect(bruno.get_by_role("img", name="E10, standard seat, being booked")).to_have_count(
            1, timeout=LIVE
        )
    finally:
        alice.context.close()
        bruno.context.close()


def test_the_list_holds_seats_row_by_row_without_javascript(browser, stack):
    page = _open(browser, stack, user="alice", javascript=False)
    try:
        seat_list = page.locator("details").filter(has_text="Choose from a list instead")
        seat_list.get_by_text("Choose from a list instead").click()
        row = seat_list.get_by_role("group", name="Row F")
        row.get_by_role("checkbox", name="F5, standard seat, available").check()
        row.get_by_role("checkbox", name="F6, standard seat, available").check()
        seat_list.get_by_role("button", name="Hold these seats").click()
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        expect(page.locator("body")).to_contain_text("F5")
        expect(page.locator("body")).to_contain_text("F6")
    finally:
        page.context.close()


def test_the_list_follows_the_live_map(browser, stack):
    alice = _open(browser, stack, user="alice")
    bruno = _open(browser, stack, user="bruno")
    try:
        alice.click("#seat-G4")
        alice.click("text=Hold seats")
        alice.wait_for_url("**/bookings/*/")

        listed = bruno.locator('#seat-list input[value="G4"]')
        expect(listed).to_be_disabled(timeout=LIVE)
        expect(bruno.locator("#seat-list")).to_contain_text("G4, standard seat, being booked")
    finally:
        alice.context.close()
        bruno.context.close()
