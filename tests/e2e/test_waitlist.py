"""A sold-out showtime's waiting list, the whole way in real browsers: three customers join
and see their place, a buyer's hold is released and the first is emailed a link straight to
checkout, sees the offer on the site and pays; the next offer lapses to the third. axe-core
finds nothing at desktop and phone sizes."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.stack import running_stack, sent_email
from tests.e2e.test_accessibility import _violations
from tests.e2e.test_live_seat_map import _wait_live

LIVE = 5_000  # ms: an offer is made in the request or sweeper pass that freed the seats

# A showtime of a four-seat hall, sold out: Dora, a buyer, holds A1 and A2 (a booking), the box
# office A3 and A4 (a hold no booking owns). Prints the showtime's id and Dora's booking's ref.
SOLD_OUT = """
from datetime import timedelta
from decimal import Decimal
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone
from bookings import services
from cinema.models import Auditorium, Movie
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from seats import holds
hall = save_auditorium(auditorium=Auditorium(name="Studio", layout="A  ssss"))
showtime = schedule_showtime(
    movie=Movie.objects.get(slug="the-long-orbit"), auditorium=hall,
    starts_at=timezone.now() + timedelta(days=3), price_list=one_price_list(Decimal("9.00")))
dora = get_user_model().objects.create_user("dora", "dora@example.com", "dora-password-123")
EmailAddress.objects.create(user=dora, email=dora.email, verified=True, primary=True)
booking = services.hold_seats(user=dora, showtime=showtime, labels=["A1", "A2"])
holds.hold(showtime_id=showtime.pk, labels=["A3", "A4"], token="box-office", ttl_seconds=600)
print(showtime.pk, booking.ref)
"""
# Dora lets her seats go.
RELEASE_DORA = """
from bookings import services
from bookings.models import Booking
services.cancel_booking(booking=Booking.objects.get(ref="{ref}"))
"""
# Staff release the box office's hold.
RELEASE_BOX_OFFICE = """
from bookings.services import staff_release_hold
from cinema.models import Showtime
staff_release_hold(showtime=Showtime.objects.get(pk={pk}), token="box-office", actor=None)
"""
# Bruno's claim window ends (brought forward, not waited for); the sweeper lapses the offer.
END_BRUNOS_WINDOW = """
from datetime import timedelta
from django.utils import timezone
from bookings.models import Booking
Booking.objects.filter(user__username="bruno", status="pending").update(
    expires_at=timezone.now() - timedelta(seconds=1))
"""


@pytest.fixture(scope="module")
def stack(mail_env):
    """The product with its sweeper and notifier, sending email into `maildir`; holds last
    the default five minutes, so that a buyer's is still there to be released."""
    with running_stack(
        redis_url=TEST_REDIS_URL,
        extra_env=mail_env,
        notifier=True,
    ) as urls:
        yield urls


def _no_axe_violations(page) -> None:
    assert _violations(page) == [], page.url
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _join(page, seats: str) -> None:
    expect(page.get_by_text("This showtime is sold out.")).to_be_visible()
    page.select_option("#waitlist-seats", seats)
    page.get_by_role("button", name="Join the waiting list").click()


def _checkout_link(maildir: Path, user: str) -> str:
    """The path of the checkout link in the offer's email to `user`."""
    email = sent_email(maildir, subject="yours to claim", to=f"{user}@example.com")
    body = email.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/bookings/[0-9A-Z]+/)", body)[1]


def _pay(page) -> None:
    page.click("text=Pay £")
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    expect(page.locator(".status--confirmed")).to_be_visible(timeout=15_000)


def test_join_an_offer_by_email_paid_and_one_lapsing_to_the_next(open_page, stack, maildir):
    showtime, dora = stack.manage("shell", "-c", SOLD_OUT).stdout.split()[-2:]
    path = f"/showtimes/{showtime}/"

    alice = open_page("alice", path)
    alice.set_viewport_size({"width": 1366, "height": 900})
    _wait_live(alice)
    _join(alice, "2")
    expect(alice.locator("[data-waitlist-place]")).to_contain_text("You are number 1")
    _no_axe_violations(alice)

    bruno = open_page("bruno", path)
    _join(bruno, "2")
    expect(bruno.locator("[data-waitlist-place]")).to_contain_text("You are number 2")
    carla = open_page("carla", path)
    carla.set_viewport_size({"width": 390, "height": 844})
    _join(carla, "2")
    expect(carla.locator("[data-waitlist-place]")).to_contain_text("You are number 3")
    _wait_live(carla)
    _no_axe_violations(carla)

    # Dora lets go of her seats: they are Alice's at once, held to everyone else.
    stack.manage("shell", "-c", RELEASE_DORA.format(ref=dora))
    expect(alice.locator("#seat-A1")).to_have_class(re.compile("seat--mine"), timeout=LIVE)
    expect(carla.locator("#seat-A1")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    # The email's link goes straight to the checkout of the seats held for her.
    link = _checkout_link(maildir, "alice")
    alice.reload()
    expect(alice.locator("[data-waitlist-offer]")).to_contain_text("A1, A2")
    assert (
        alice.get_by_role("link", name="Claim them: go to checkout").get_attribute("href") == link
    )
    _no_axe_violations(alice)
    alice.goto(f"{stack[0]}{link}")
    expect(alice.locator("[data-offer]")).to_be_visible()
    _no_axe_violations(alice)
    _pay(alice)
    expect(carla.locator("#seat-A1")).to_have_class(re.compile("seat--booked"), timeout=LIVE)

    # The box office's seats come back: Bruno's turn, then, his window over, Carla's.
    stack.manage("shell", "-c", RELEASE_BOX_OFFICE.format(pk=showtime))
    bruno_link = _checkout_link(maildir, "bruno")
    expect(carla.locator("#seat-A3")).to_have_class(re.compile("seat--held"), timeout=LIVE)
    stack.manage("shell", "-c", END_BRUNOS_WINDOW)
    carla_link = _checkout_link(maildir, "carla")
    assert carla_link != bruno_link
    expect(carla.locator("#seat-A3")).to_have_class(re.compile("seat--mine"), timeout=LIVE)
    bruno.goto(f"{stack[0]}{bruno_link}")
    expect(bruno.locator(".status--expired")).to_be_visible()

    carla.reload()
    expect(carla.locator("[data-waitlist-offer]")).to_contain_text("A3, A4")
    _no_axe_violations(carla)
    carla.goto(f"{stack[0]}{carla_link}")
    expect(carla.locator("[data-offer]")).to_be_visible()
    _no_axe_violations(carla)
    _pay(carla)
    errors = [m.text for page in (alice, carla) for m in page.console_messages if m.type == "error"]
    assert errors == [], errors
