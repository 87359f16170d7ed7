"""The live seat map in a real browser is never left wrong: messages for a seat that arrive out
of order end with the newer one shown, and a change nobody was told reaches the page by itself,
on the same page and socket, within the check's bound."""

import re
import time

from django.conf import settings
from playwright.sync_api import expect

from seats import holds
from tests.e2e.stack import sign_in
from tests.e2e.test_live_seat_map import _a_showtime_path, _wait_live

# SEATMAP_CHECK_SECONDS (the stack's default) plus a reading and the page's swap.
HEALED_WITHIN = settings.SEATMAP_CHECK_SECONDS + 2


def _seat(label: str, state: str, version: int) -> str:
    """A seat as the server sends it in a live message (the shape of seats/_seat.html)."""
    return (
        f'<span class="seat seat--{state} seat--standard" id="seat-{label}" hx-swap-oob="true" '
        f'data-v="{version}" role="img" aria-label="{label}, standard seat, {state}"></span>'
    )


def test_two_messages_for_a_seat_out_of_order_leave_the_newer_state(browser, stack):
    """Two senders told H4: the older reading (held) reaches the page after the newer one
    (sold). The page shows it sold, as the newer message says."""
    path = _a_showtime_path(stack[0])
    context = browser.new_context()
    page = context.new_page()
    sockets = []

    def pass_through(socket):
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/showtimes/\d+/$"), pass_through)
    sign_in(page, base=stack[0], username="alice", path=path)
    page.wait_for_selector("#seatmap-rows[data-v]", state="attached")  # the socket's full map
    connected_at = int(page.get_attribute("#seatmap-rows", "data-v"))
    expect(page.locator("#seat-H4")).to_have_class(re.compile("seat--available"))

    sockets[-1].send(_seat("H4", "booked", connected_at + 2))
    expect(page.locator("#seat-H4")).to_have_class(re.compile("seat--booked"))
    sockets[-1].send(_seat("H4", "held", connected_at + 1))
    sockets[-1].send(_seat("H5", "held", connected_at + 1))  # a later seat of the same message
    expect(page.locator("#seat-H5")).to_have_class(re.compile("seat--held"))
    expect(page.locator("#seat-H4")).to_have_class(re.compile("seat--booked"))
    assert page.get_attribute("#seat-H4", "data-v") == str(connected_at + 2)
    context.close()


def test_a_change_nobody_was_told_reaches_the_page_by_itself(open_page, stack, redis_db):
    """A seat held and released in Redis with no message sent (one lost on its way to every
    viewer): the page shows each within the check's bound, with no reload and one socket."""
    path = _a_showtime_path(stack[0])
    page = open_page("bruno", path)
    _wait_live(page)
    page.evaluate("() => { window.notReloaded = true; }")
    opened = []
    page.on("websocket", lambda socket: opened.append(socket))
    showtime_id = int(re.search(r"\d+", path)[0])
    token = holds.new_token(999_999)

    changed = time.monotonic()
    assert holds.hold(showtime_id=showtime_id, labels=["J8"], token=token, ttl_seconds=60).ok
    expect(page.locator("#seat-J8")).to_have_class(
        re.compile("seat--held"), timeout=HEALED_WITHIN * 1000
    )
    healed_in = time.monotonic() - changed

    changed = time.monotonic()
    assert holds.release(showtime_id=showtime_id, labels=["J8"], token=token) == ["J8"]
    expect(page.locator("#seat-J8")).to_have_class(
        re.compile("seat--available"), timeout=HEALED_WITHIN * 1000
    )
    print(f"healed in {healed_in:.1f} s and {time.monotonic() - changed:.1f} s")
    assert page.evaluate("() => window.notReloaded") is True
    assert opened == [], "healed on the socket it had"
    expect(page.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")
