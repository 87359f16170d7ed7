"""Every answer to an action is shown where the eye is: inside the viewport after the action, in
a live region, with and without JavaScript, on a laptop and on a phone. Each test keeps a
screenshot of what the customer saw in test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.stack import running_stack, sign_in
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _a_showtime_path

SIZES = [pytest.param((1366, 900), id="laptop"), pytest.param((390, 844), id="phone")]
MAX_SEATS = 10  # MAX_SEATS_PER_BOOKING's default


@pytest.fixture(scope="module")
def stack():
    # Holds long enough to use the checkout at leisure.
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=300) as urls:
        yield urls


@pytest.fixture
def customer(browser, stack, request):
    """customer(user, path, size, js=True) -> a signed-in page of that size; each is
    screenshotted at the end of the test (`shot` names the file)."""
    pages = []

    def open_as(username: str, path: str, size: tuple[int, int], *, js: bool = True):
        width, height = size
        context = browser.new_context(
            viewport={"width": width, "height": height}, java_script_enabled=js
        )
        page = context.new_page()
        sign_in(page, base=stack[0], username=username, path=path)
        pages.append(page)
        return page

    yield open_as
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w-]+", "-", request.node.name).strip("-")
    for number, page in enumerate(pages):
        page.screenshot(path=str(ARTIFACTS / f"answers-{name}-{number}.png"))
        page.context.close()


def assert_in_view(page, locator) -> None:
    """The element is on screen, whole, where the customer is looking, and in a live region."""
    expect(locator).to_be_visible()
    # The page scrolls to a focused answer once htmx has settled it, a moment after its swap.
    expect(locator).to_be_in_viewport(ratio=1)
    box = locator.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (box, viewport)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (box, viewport)
    assert locator.evaluate(
        "element => Boolean(element.closest('[aria-live], [role=status], [role=alert]'))"
    )


def assert_axe_clean(page) -> None:
    """axe finds nothing wrong with the page as the answer left it (when axe-core is installed)."""
    if AXE.exists():
        assert _violations(page) == []


def _live(page) -> None:
    expect(page.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")


def _tick(page, labels) -> None:
    for label in labels:
        page.click(f"#seat-{label}")


@pytest.mark.parametrize("size", SIZES)
def test_a_seat_taken_by_someone_else_is_said_beside_the_button(customer, stack, size):
    path = _a_showtime_path(stack[0])
    bruno = customer("bruno", path, size)
    alice = customer("alice", path, size)
    _live(bruno)
    _live(alice)
    bruno.click("#seat-G12")  # the map scrolls to it, as the customer's does
    alice.click("#seat-G12")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")

    expect(bruno.locator("[data-live-status]")).to_be_visible()
    notice = bruno.locator("[data-seat-notice]")
    expect(notice).to_contain_text("Seat G12 was just taken by someone else.")
    assert_in_view(bruno, notice)


@pytest.mark.parametrize("size", SIZES)
def test_a_refused_hold_is_said_beside_the_button(customer, stack, size):
    path = _a_showtime_path(stack[0])
    alice = customer("alice", path, size)
    bruno = customer("bruno", path, size)
    _live(bruno)
    _tick(alice, ["F12"])
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")
    # Bruno's page asks for F12 as a form sent just before the map told it (a race).
    _tick(bruno, ["F14"])
    bruno.evaluate(
        """() => {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = 'seats'; input.value = 'F12';
            document.getElementById('seat-form').appendChild(input);
        }"""
    )
    on_the_map = bruno.url
    bruno.click("#seat-form button[type=submit]")

    message = bruno.locator("#hold-message .alert")
    expect(message).to_contain_text("Taken: F12")
    assert bruno.url == on_the_map
    assert_in_view(bruno, message)
    # The nearest two seats side by side are offered instead, ticked on the map, not held.
    offer = message.locator("[data-offer] strong").inner_text().split(", ")
    assert len(offer) == 2 and "F12" not in offer
    for label in offer:
        expect(bruno.locator(f"#seat-{label} input")).to_be_checked()
    expect(bruno.locator("[data-selected-count]")).to_have_text("2")
    assert_axe_clean(bruno)


@pytest.mark.parametrize("size", SIZES)
def test_no_more_seats_than_one_booking_takes_can_be_ticked(customer, stack, size):
    page = customer("carla", _a_showtime_path(stack[0]), size)
    _live(page)
    _tick(page, [f"C{number}" for number in range(1, MAX_SEATS + 2)])

    notice = page.locator("[data-seat-notice]")
    expect(notice).to_contain_text(f"You can pick up to {MAX_SEATS} seats in one booking.")
    assert_in_view(page, notice)
    expect(page.locator("[data-selected-count]")).to_have_text(str(MAX_SEATS))
    expect(page.locator(f"#seat-C{MAX_SEATS + 1} input")).not_to_be_checked()


@pytest.mark.parametrize("size", SIZES)
def test_without_javascript_a_refused_hold_is_said_beside_the_button(customer, stack, size):
    page = customer("carla", _a_showtime_path(stack[0]), size, js=False)
    _tick(page, [f"D{number}" for number in range(1, MAX_SEATS + 2)])
    page.click("#seat-form button[type=submit]")

    message = page.locator("#hold-message .alert")
    expect(message).to_contain_text(str(MAX_SEATS))
    assert_in_view(page, message)
    # Never live without JavaScript, so it never says "Connecting…".
    expect(page.locator("[data-live-status]")).to_be_hidden()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_an_unknown_voucher_is_said_under_its_field(customer, stack, size, js):
    user = {(True, 1366): "alice", (True, 390): "bruno"}.get((js, size[0]), "carla")
    page = customer(user, _a_showtime_path(stack[0]), size, js=js)
    seats = ["J1", "J2", "J3", "J4", "J5", "J6"] if js else ["K1", "K2", "K3", "K4", "K5", "K6"]
    _tick(page, seats)
    page.click("#seat-form button[type=submit]")
    page.wait_for_url("**/bookings/*/")
    checkout = page.url
    page.fill("#voucher-code", "NOPE")
    page.click(".voucher-form button[type=submit]")

    message = page.locator("#voucher-error")
    expect(message).to_contain_text("There is no voucher NOPE.")
    assert_in_view(page, message)
    expect(page.locator("#voucher-code")).to_have_value("NOPE")
    if js:
        assert page.url == checkout  # swapped in place, not a new page
        assert_axe_clean(page)


@pytest.mark.parametrize("size", SIZES)
def test_an_applied_voucher_and_a_refused_ticket_are_said_where_the_buyer_is(customer, stack, size):
    user = "alice" if size[0] == 1366 else "bruno"
    page = customer(user, _a_showtime_path(stack[0]), size)
    _tick(page, ["L1", "L2", "L3", "L4", "L5", "L6"] if size[0] == 1366 else ["M1", "M2"])
    page.click("#seat-form button[type=submit]")
    page.wait_for_url("**/bookings/*/")
    checkout = page.url
    page.fill("#voucher-code", "demo10")
    page.click(".voucher-form button[type=submit]")

    note = page.locator("#voucher-note")
    expect(note).to_contain_text("DEMO10 applied: 10% off.")
    assert_in_view(page, note)
    expect(note).to_be_focused()
    assert page.url == checkout
    expect(page.locator(".messages")).to_have_count(0)  # said once, under the field

    # A ticket type the showtime no longer sells (as if the list changed while choosing),
    # chosen for the last seat: the refusal is at the top of the checkout, scrolled to.
    last = page.locator(".lines tbody select").last
    last.evaluate("(select) => { select.options[select.selectedIndex].value = '999999'; }")
    last.scroll_into_view_if_needed()
    last.dispatch_event("change")

    error = page.locator("#checkout-error")
    expect(error).to_contain_text("not sold for this showtime")
    assert_in_view(page, error)
    expect(error).to_be_focused()
    assert_axe_clean(page)


@pytest.mark.parametrize("size", SIZES)
def test_a_showtime_sold_through_a_queue_says_so_before_any_seat_is_picked(customer, stack, size):
    film = customer("alice", "/movies/the-long-orbit/", size)
    queued = re.findall(r'href="/showtimes/(\d+)/"', film.content())[-1]
    stack.manage("waiting_room", "on", queued)
    film.reload()
    listed = film.locator(f'a[href="/showtimes/{queued}/"]')
    expect(listed).to_contain_text("Queue to book")
    page = customer("bruno", f"/showtimes/{queued}/", size)

    notice = page.locator(".queue-first")
    expect(notice).to_contain_text("sold through a queue")
    assert_in_view(page, notice)
    expect(page.locator("#seat-form")).to_have_count(0)
    assert_axe_clean(page)
    listed.scroll_into_view_if_needed()  # for the screenshot


@pytest.mark.parametrize("size", SIZES)
def test_best_available_says_which_ticked_seats_it_replaced(customer, stack, size):
    page = customer("alice", _a_showtime_path(stack[0]), size)
    _live(page)
    _tick(page, ["T1"])
    page.select_option("#best", "2")
    page.click("text=Best available")

    message = page.locator("[data-suggestion]")
    expect(message).to_contain_text("instead of T1")
    assert_in_view(page, message)
    expect(page.locator("[data-selected-count]")).to_have_text("2")
    assert_axe_clean(page)
