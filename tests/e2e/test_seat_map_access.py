"""The seat map works on a phone, from the keyboard alone, with a screen reader, and as a list."""

import re

from playwright.sync_api import expect

from tests.e2e.stack import sign_in
from tests.e2e.test_live_seat_map import LIVE, _a_showtime_path, _wait_live

SEAT_INPUTS = "#seatmap-rows .seat input"
SEAT_NAME = re.compile(
    r"^[A-Z]+\d+, (standard seat|premium seat|VIP recliner|wheelchair space|companion seat), "
    r"(available|held for you|kept for wheelchair users)$"
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


PHONE = {"width": 390, "height": 844}
# Every seat's box and every row letter's box that is shown, in page coordinates.
BOXES = """() => {
    const box = (element) => {
        const r = element.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    };
    const shown = (element) => element.getClientRects().length && element.textContent.trim();
    return {
        seats: Array.from(document.querySelectorAll('#seatmap-rows .seat'), box),
        letters: Array.from(document.querySelectorAll('.seatrow__label')).filter(shown).map(box),
        scroll: box(document.querySelector('.seatmap__scroll')),
        screen: box(document.querySelector('.seatmap__screen')),
        rows: box(document.getElementById('seatmap-rows')),
    };
}"""


def _overlaps(one: dict, other: dict) -> bool:
    return (
        min(one["right"], other["right"]) - max(one["left"], other["left"]) > 0.5
        and min(one["bottom"], other["bottom"]) - max(one["top"], other["top"]) > 0.5
    )


def _shown_in_scroll_box(boxes: dict) -> list[dict]:
    """What the box scrolling the hall shows of each seat (it clips the rest)."""
    scroll = boxes["scroll"]
    return [
        {
            **seat,
            "left": max(seat["left"], scroll["left"]),
            "right": min(seat["right"], scroll["right"]),
        }
        for seat in boxes["seats"]
        if seat["right"] > scroll["left"] and seat["left"] < scroll["right"]
    ]


def _assert_no_letter_covers_a_seat(boxes: dict) -> None:
    assert boxes["letters"]
    covered = [
        (letter, seat)
        for letter in boxes["letters"]
        for seat in _shown_in_scroll_box(boxes)
        if _overlaps(letter, seat)
    ]
    assert covered == []


def _centre(box: dict) -> float:
    return (box["left"] + box["right"]) / 2


def _zoom_in(page):
    """Zoom in; the button then says what it does next (a plain button: no aria-pressed)."""
    zoom = page.locator("[data-seatmap-zoom]")
    expect(zoom).to_have_text("Zoom in")
    zoom.click()
    expect(zoom).to_have_text("Whole hall")
    assert zoom.get_attribute("aria-pressed") is None


def _middle_seat(page) -> str:
    """The label of the middle seat of the hall's middle row."""
    return page.evaluate(
        """() => {
            const rows = document.querySelectorAll('#seatmap-rows .seatrow:not(.seatrow--aisle)');
            const seats = rows[Math.floor((rows.length - 1) / 2)].querySelectorAll('.seat');
            return seats[Math.floor((seats.length - 1) / 2)].id.replace('seat-', '');
        }"""
    )


def _in_view(page, selector: str) -> bool:
    """Whether the element's whole box is in the viewport and on top at its centre."""
    return page.locator(selector).evaluate(
        """(element) => {
            const r = element.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth
                && element.contains(document.elementFromPoint(x, y));
        }"""
    )


def test_on_a_phone_the_whole_hall_fits_the_width(browser, stack):
    page = _open(browser, stack, user="alice", **PHONE)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        boxes = page.evaluate(BOXES)
        scroll = boxes["scroll"]
        assert len(boxes["seats"]) > 400
        assert all(
            seat["left"] >= scroll["left"] - 0.5 and seat["right"] <= scroll["right"] + 0.5
            for seat in boxes["seats"]
        )
        assert page.locator(".seatmap__scroll").evaluate(
            "(box) => box.scrollWidth <= box.clientWidth"
        )
        assert abs(_centre(boxes["screen"]) - _centre(boxes["rows"])) < 1
        _assert_no_letter_covers_a_seat(boxes)
    finally:
        page.context.close()


def test_zoomed_in_the_seats_are_big_and_the_hall_opens_on_its_middle(browser, stack):
    page = _open(browser, stack, user="alice", **PHONE)
    try:
        _zoom_in(page)
        boxes = page.evaluate(BOXES)
        smallest = min(
            min(seat["right"] - seat["left"], seat["bottom"] - seat["top"])
            for seat in boxes["seats"]
        )
        assert smallest >= 32
        box = page.locator(".seatmap__scroll")
        assert box.evaluate("(box) => box.scrollWidth > box.clientWidth")
        assert _in_view(page, f"#seat-{_middle_seat(page)}")
        assert abs(_centre(boxes["screen"]) - _centre(boxes["rows"])) < 1
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # Wherever the hall is scrolled, the row letters lie beside the seats, never over one.
        _assert_no_letter_covers_a_seat(boxes)
        for end in ("0", "box.scrollWidth"):
            box.evaluate(f"(box) => {{ box.scrollLeft = {end}; }}")
            _assert_no_letter_covers_a_seat(page.evaluate(BOXES))

        page.get_by_role("button", name="Whole hall").click()
        expect(page.locator("[data-seatmap-zoom]")).to_have_text("Zoom in")
        assert box.evaluate("(box) => box.scrollWidth <= box.clientWidth")
    finally:
        page.context.close()


def test_on_a_phone_best_available_and_hold_are_in_reach_without_scrolling(browser, stack):
    page = _open(browser, stack, user="alice", **PHONE)
    try:
        best = "#seat-form button:text-is('Best available')"
        hold = "#seat-form button:text-is('Hold seats')"
        assert _in_view(page, best) and _in_view(page, hold)
        # The site's sticky bar is one compact line, every way on in it.
        assert page.locator(".topbar").evaluate("(bar) => bar.offsetHeight") <= 64
        assert _in_view(page, ".topbar .brand")
        for name in ("My bookings", "Back office", "Sign out"):
            assert _in_view(page, f".topbar :text-is('{name}')"), name
        _zoom_in(page)
        page.mouse.wheel(0, 300)
        assert _in_view(page, best) and _in_view(page, hold)
        assert _in_view(page, "[data-seatmap-zoom]")  # to zoom out again

        page.click(best)
        page.wait_for_url(re.compile(r".*\?best=2"))
        expect(page.locator("[data-suggestion]")).to_contain_text("Best available:")
        expect(page.locator("#seatmap-rows .seat input:checked")).to_have_count(2)
    finally:
        page.context.close()


def test_zoomed_in_a_seat_is_picked_held_and_kept_up_to_date(browser, stack):
    bruno = _open(browser, stack, user="bruno", **PHONE)
    alice = _open(browser, stack, user="alice")
    try:
        _zoom_in(bruno)
        middle = _middle_seat(bruno)
        row, number = middle[0], int(middle[1:])
        # Side by side: a seat left alone between them would be refused (the hold rules).
        taken, mine = f"{row}{number - 1}", middle
        scrolled = bruno.locator(".seatmap__scroll").evaluate("(box) => box.scrollLeft")

        alice.click(f"#seat-{taken}")
        alice.click("text=Hold seats")
        alice.wait_for_url("**/bookings/*/")
        expect(bruno.locator(f"#seat-{taken}")).to_have_class(
            re.compile("seat--held"), timeout=LIVE
        )
        assert bruno.locator(".seatmap__scroll").evaluate("(box) => box.scrollLeft") == scrolled
        expect(bruno.locator("[data-seatmap-zoom]")).to_have_text("Whole hall")

        bruno.click(f"#seat-{mine}")
        expect(bruno.locator(f"#seat-{mine} input")).to_be_checked()
        bruno.click("#seat-form button:text-is('Hold seats')")
        bruno.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        expect(bruno.locator("body")).to_contain_text(mine)
    finally:
        alice.context.close()
        bruno.context.close()


def test_zoomed_in_the_keyboard_moves_through_the_hall_in_view(browser, stack):
    page = _open(browser, stack, user="carla", **PHONE)
    try:
        _zoom_in(page)
        page.keyboard.press("Tab")
        for key in ["Home", "End", *["ArrowDown"] * 12, *["ArrowLeft"] * 10, "ArrowUp"]:
            page.keyboard.press(key)
            focused = _focused_seat(page)
            assert focused is not None
            # Clear of the sticky bars above and below the map, and of the row letters.
            assert _in_view(page, f"#seat-{focused}"), (key, focused)
        page.keyboard.press("Space")
        expect(page.locator(f"#seat-{focused} input")).to_be_checked()
    finally:
        page.context.close()


def test_keyboard_alone_picks_seats_and_holds_them(browser, stack):
    page = _open(browser, stack, user="bruno")
    try:
        page.focus(".wheelchair-note a")  # the last link before the map
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
        bruno.focus(".wheelchair-note a")  # the last link before the map
        bruno.keyboard.press("Tab")
        for _ in range(3):
            bruno.keyboard.press("ArrowRight")
        bruno.keyboard.press("ArrowDown")  # off row A's spaces, kept for wheelchair users
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


# Keep the showtime's wheelchair spaces back until it starts ({until} "start"), or go back to
# the default release time ({until} "default"): the first Grand showtime may start more or less
# than WHEELCHAIR_RELEASE_HOURS from now, depending on when the tests run.
KEEP_SPACES = """
from django.db.models import F
from cinema.models import Showtime
until = None if "{until}" == "default" else F("starts_at")
Showtime.objects.filter(pk={pk}).update(wheelchair_release_at=until)
"""


def test_every_seat_tells_its_label_kind_and_state(browser, stack):
    showtime = re.search(r"\d+", _a_showtime_path(stack[0]))[0]
    stack.manage("shell", "-c", KEEP_SPACES.format(pk=showtime, until="start"))
    alice = _open(browser, stack, user="alice")
    bruno = _open(browser, stack, user="bruno")
    try:
        names = bruno.locator(SEAT_INPUTS).evaluate_all(
            "(inputs) => inputs.map((input) => input.getAttribute('aria-label'))"
        )
        assert names and all(SEAT_NAME.match(name) for name in names), names[:5]
        expect(bruno.get_by_role("checkbox", name="E10, standard seat, available")).to_have_count(1)
        wheelchair = bruno.locator("#seatmap-rows .seat--accessible input").first
        expect(wheelchair).to_have_accessible_name(
            re.compile(r", wheelchair space, kept for wheelchair users$")
        )
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
        stack.manage("shell", "-c", KEEP_SPACES.format(pk=showtime, until="default"))


def test_the_list_holds_seats_row_by_row_without_javascript(browser, stack):
    page = _open(browser, stack, user="alice", javascript=False)
    try:
        seat_list = page.locator("details#seat-list")
        seat_list.get_by_text("Choose from a list instead").click()
        seat_list.get_by_role("link", name="Show every seat as a list").click()
        page.wait_for_url(re.compile(r".*\?list=1#seat-list$"))
        expect(seat_list).to_have_attribute("open", "")
        row = seat_list.get_by_role("group", name="Row F")
        row.get_by_role("checkbox", name="F5, standard seat, available").check()
        row.get_by_role("checkbox", name="F6, standard seat, available").check()
        seat_list.get_by_role("button", name="Hold these seats").click()
        page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
        expect(page.locator("body")).to_contain_text("F5")
        expect(page.locator("body")).to_contain_text("F6")
    finally:
        page.context.close()


def test_the_list_opened_from_the_keyboard_shows_the_seats_now_and_follows_the_map(browser, stack):
    alice = _open(browser, stack, user="alice")
    carla = _open(browser, stack, user="carla")
    bruno = _open(browser, stack, user="bruno")
    try:
        alice.click("#seat-G4")
        alice.click("text=Hold seats")
        alice.wait_for_url("**/bookings/*/")
        expect(bruno.locator("#seat-G4")).to_have_class(re.compile("seat--held"), timeout=LIVE)

        assert bruno.locator("#seat-list input").count() == 0  # fetched when opened
        bruno.focus("#seat-list summary")
        bruno.keyboard.press("Enter")
        expect(bruno.locator('#seat-list input[value="G4"]')).to_be_disabled()
        expect(bruno.locator("#seat-list")).to_contain_text("G4, standard seat, being booked")
        bruno.keyboard.press("Tab")
        focused = bruno.evaluate("document.activeElement.closest('#seat-list') !== null")
        assert focused, "Tab from the opened list's summary does not reach the list"

        carla.click("#seat-G10")
        carla.click("text=Hold seats")
        carla.wait_for_url("**/bookings/*/")
        listed = bruno.locator('#seat-list input[value="G10"]')
        expect(listed).to_be_disabled(timeout=LIVE)
        expect(bruno.locator("#seat-list")).to_contain_text("G10, standard seat, being booked")
    finally:
        alice.context.close()
        carla.context.close()
        bruno.context.close()


def test_the_grand_page_renders_each_seat_once(browser, stack):
    """The map is the one rendering of the seats every visitor uses; the list mode is fetched
    when opened. The Grand's page (478 seats) stays within 1,600 elements."""
    page = _open(browser, stack, user="alice")
    try:
        page.wait_for_selector("#seatmap-rows[data-v]", state="attached")  # the socket's map
        assert page.locator("#seatmap-rows .seat[id]").count() == 478
        elements = page.evaluate("document.getElementsByTagName('*').length")
        assert elements <= 1_600, elements
        page.click("#seat-list summary")
        expect(page.locator("#seat-list input[name=seats]")).to_have_count(478)
    finally:
        page.context.close()
