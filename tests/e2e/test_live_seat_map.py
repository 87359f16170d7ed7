"""Two people on one showtime, in a real browser: everything one does, the other sees live."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import HOLD_TTL
from tests.e2e.stack import grand_showtime_path as _a_showtime_path

LIVE = 1_000  # ms: what "live" means for a viewer


def _wait_live(page):
    expect(page.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")


def _two_viewers(open_page, stack):
    """Alice and Bruno signed in on the same showtime, both maps live."""
    path = _a_showtime_path(stack[0])
    alice = open_page("alice", path)
    bruno = open_page("bruno", path)
    _wait_live(alice)
    _wait_live(bruno)
    return path, alice, bruno


def test_holds_purchases_and_timeouts_reach_the_other_viewer_live(open_page, stack):
    path, alice, bruno = _two_viewers(open_page, stack)

    alice.click("#seat-E10")
    alice.click("#seat-E11")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")
    for label in ("E10", "E11"):
        expect(bruno.locator(f"#seat-{label}")).to_have_class(
            re.compile("seat--held"), timeout=LIVE
        )
    expect(bruno.locator("#seat-E10 input")).to_have_count(0)

    alice.click("text=Pay £")
    alice.fill("#card", "4242 4242 4242 4242")
    alice.fill("#exp", "12 / 39")
    alice.fill("#cvc", "123")
    alice.click("button.pay")
    expect(alice.locator(".status--confirmed")).to_be_visible(timeout=15_000)
    for label in ("E10", "E11"):
        expect(bruno.locator(f"#seat-{label}")).to_have_class(
            re.compile("seat--booked"), timeout=LIVE
        )

    alice.goto(stack[0] + path)
    _wait_live(alice)
    alice.click("#seat-F3")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")
    expect(bruno.locator("#seat-F3")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    # The hold times out; the sweeper frees it and every viewer gets the seat back.
    expect(bruno.locator("#seat-F3")).to_have_class(
        re.compile("seat--available"), timeout=(HOLD_TTL + 3) * 1000
    )
    errors = [m.text for m in bruno.console_messages if m.type == "error"]
    assert errors == [], errors


def test_a_seat_taken_by_someone_else_cannot_be_held(open_page, stack):
    _, alice, bruno = _two_viewers(open_page, stack)

    bruno.click("#seat-G7")
    bruno.click("#seat-G8")
    alice.click("#seat-G8")
    alice.click("text=Hold seats")
    alice.wait_for_url("**/bookings/*/")

    expect(bruno.locator("#seat-G8")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    notice = bruno.get_by_role("status").filter(has_text="G8 was just taken")
    expect(notice).to_be_visible()
    # Beside the action, and there until dismissed (no timer: alice's hold ends in 4 s).
    expect(bruno.locator(".selection-bar .seat-notice-region")).to_have_count(1)
    bruno.wait_for_timeout(2000)
    expect(notice).to_be_visible()
    bruno.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_hidden()
    expect(bruno.locator("#seat-G7 input")).to_be_checked()
    expect(bruno.locator("[data-selected-count]")).to_have_text("1")

    # Even a stale form that still asks for G8 is refused with the seat named.
    bruno.evaluate(
        """() => {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = 'seats'; input.value = 'G8';
            document.getElementById('seat-form').appendChild(input);
        }"""
    )
    on_the_map = bruno.url
    bruno.click("text=Hold seats")
    expect(bruno.locator(".alert--error")).to_contain_text("Taken: G8")
    # The nearest two seats side by side are offered instead of G7 and G8, ticked, not held.
    offer = bruno.locator(".alert--error [data-offer] strong").inner_text().split(", ")
    assert len(offer) == 2 and "G8" not in offer
    for label in offer:
        expect(bruno.locator(f"#seat-{label} input")).to_be_checked()
    # Refused through htmx: the map and the message were swapped in, the page stayed (a plain
    # form post would have landed on the hold URL), and the live map is still connected.
    assert bruno.url == on_the_map
    expect(bruno.locator("[data-live-status]")).to_have_attribute("data-live-status", "live")


def test_the_map_reconnects_after_the_server_closes_cleanly(open_page, stack):
    path = _a_showtime_path(stack[0])
    bruno = open_page("bruno", path)
    _wait_live(bruno)
    # Close the socket cleanly (code 1000) from the client side of the wire.
    bruno.evaluate(
        "() => document.getElementById('seatmap')['htmx-internal-data']"
        ".webSocket.socket.close(1000)"
    )
    expect(bruno.locator("[data-live-status]")).to_have_attribute(
        "data-live-status", "reconnecting"
    )
    _wait_live(bruno)


# A showtime of a four-seat hall, every seat held (for ten minutes, by a hold no booking owns);
# prints its id.
SOLD_OUT_SHOWTIME = """
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from cinema.models import Auditorium, Movie
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from seats import holds
hall = save_auditorium(auditorium=Auditorium(name="Studio", layout="A  ssss"))
showtime = schedule_showtime(
    movie=Movie.objects.get(slug="the-long-orbit"), auditorium=hall,
    starts_at=timezone.now() + timedelta(days=3), price_list=one_price_list(Decimal("9.00")))
holds.hold(showtime_id=showtime.pk, labels=["A1", "A2", "A3", "A4"], token="box-office",
    ttl_seconds=600)
print(showtime.pk)
"""
# Staff release that hold: its seats come back.
RELEASE = """
from bookings.services import staff_release_hold
from cinema.models import Showtime
staff_release_hold(showtime=Showtime.objects.get(pk={pk}), token="box-office", actor=None)
"""


def test_a_sold_out_showtimes_waiting_list_offers_seats_that_come_back(open_page, stack):
    from tests.e2e.test_accessibility import _violations

    showtime = int(stack.manage("shell", "-c", SOLD_OUT_SHOWTIME).stdout.split()[-1])
    path = f"/showtimes/{showtime}/"
    alice = open_page("alice", path)
    _wait_live(alice)
    expect(alice.get_by_text("This showtime is sold out.")).to_be_visible()
    alice.select_option("#waitlist-seats", "2")
    alice.get_by_role("button", name="Join the waiting list").click()
    expect(alice.locator("[data-waitlist-place]")).to_contain_text("You are number 1")
    assert _violations(alice) == []

    stack.manage("shell", "-c", RELEASE.format(pk=showtime))
    # The seats on offer are hers on the live map at once; the rest are on sale again.
    expect(alice.locator("#seat-A1")).to_have_class(re.compile("seat--mine"), timeout=LIVE * 5)
    expect(alice.locator("#seat-A3")).to_have_class(re.compile("seat--available"))
    alice.goto(f"{stack[0]}/bookings/")
    expect(alice.get_by_text("Seats held for you:")).to_be_visible()
    alice.get_by_role("link", name="Claim them: go to checkout").click()
    alice.wait_for_url("**/bookings/*/")
    expect(alice.locator("[data-offer]")).to_be_visible()
    expect(alice.get_by_text("Pay £")).to_be_visible()
    assert _violations(alice) == []
    alice.set_viewport_size({"width": 390, "height": 844})
    alice.goto(f"{stack[0]}{path}")
    expect(alice.locator("[data-waitlist-offer]")).to_contain_text("A1, A2")
    assert _violations(alice) == []
    assert alice.evaluate("document.documentElement.scrollWidth") <= 390
