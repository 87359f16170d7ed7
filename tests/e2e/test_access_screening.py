"""A wheelchair user and their companion at a subtitled screening, in the browser: found with the
listings' filters, a kept-back space held with its companion seat, a caption device added by
keyboard, paid, and all of it on the ticket page, in the email and in the PDF; every page
axe-clean at desktop and phone sizes."""

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from conftest import TEST_REDIS_URL
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.stack import running_stack, sent_email, sign_in
from tests.e2e.test_accessibility import AXE, _violations
from tests.e2e.test_live_seat_map import _wait_live

SIZES = [(1366, 900), (390, 844)]
PDFTOTEXT = shutil.which("pdftotext")
# The studio's spaces are kept back until each showing starts; it lends two of each device.
SETUP = (
    "from django.db.models import F\n"
    "from cinema.models import AccessDevice, Auditorium, Showtime\n"
    "studio = Auditorium.objects.get(name__startswith='Screen 3')\n"
    "Showtime.objects.filter(auditorium=studio).update(wheelchair_release_at=F('starts_at'))\n"
    "AccessDevice.objects.filter(auditorium=studio).update(stock=2)\n"
)


@pytest.fixture(scope="module")
def stack(mail_env):
    """The product with its notifier, sending email into `maildir`."""
    with running_stack(
        redis_url=TEST_REDIS_URL,
        # Long enough for two axe runs on each page of the checkout on a busy machine.
        hold_ttl=120,
        extra_env=mail_env,
        notifier=True,
    ) as urls:
        urls.manage("shell", "-c", SETUP)
        yield urls


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    page = context.new_page()
    yield page
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _axe_at_both_sizes(page, name: str, found: dict) -> None:
    """axe on the page as it is, at each size; a screenshot of it on the phone to look at."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        found[f"{name} at {width}"] = _violations(page)
    ARTIFACTS.mkdir(exist_ok=True)
    slug = re.sub(r"\W+", "-", name)
    shot = ARTIFACTS / f"access-{slug}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})


def _tab_to(page, target, *, limit: int = 120) -> None:
    """Press Tab until `target` has the focus: reachable by keyboard, in the page's own order."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reached by Tab")


def test_a_wheelchair_user_books_a_subtitled_screening_with_a_caption_device(page, stack, maildir):
    if not AXE.exists():
        pytest.skip(f"accessibility checks need axe-core at {AXE} (make test installs it with npm)")
    base = stack[0]
    found: dict[str, list[str]] = {}

    page.goto(base + "/")
    page.get_by_label("Subtitled").check()
    page.get_by_label("Wheelchair space free").check()
    filtered = re.compile(r"kind=subtitled&kind=wheelchair")
    expect(page).to_have_url(filtered)  # the listing has followed the ticks (htmx)
    # The studio's subtitled showing is at 13:00: tomorrow's is still to come, whatever the hour.
    page.get_by_role("link", name=re.compile("^Tomorrow")).click()
    expect(page.locator("[aria-current=date]")).to_contain_text("Tomorrow")
    expect(page).to_have_url(filtered)
    expect(page.locator(".chosen-filters")).to_contain_text("Wheelchair space free")
    _axe_at_both_sizes(page, "listing filtered", found)
    showtime = page.locator("#listing a[href^='/showtimes/']").first
    path = showtime.get_attribute("href")

    sign_in(page, base=base, username="alice", path=path)
    _wait_live(page)
    expect(page.locator("[data-legend-kept]")).to_be_visible()
    _axe_at_both_sizes(page, "showtime", found)
    _tab_to(page, page.get_by_role("link", name="I need a wheelchair space"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*\?wheelchair=1$"))
    _wait_live(page)
    expect(page.locator(".wheelchair-note")).to_contain_text("You told us you need")
    _axe_at_both_sizes(page, "showtime, wheelchair space needed", found)
    space = page.locator(".seat--kept.seat--accessible input").first
    label = space.get_attribute("value")
    companion = f"{label[0]}{int(label[1:]) + 1}"
    expect(page.locator(f"#seat-{companion}")).to_have_class(re.compile("seat--companion"))
    page.click(f"#seat-{label}")
    page.click(f"#seat-{companion}")
    page.click("#seat-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bookings/\w+/$"))
    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    _axe_at_both_sizes(page, "checkout", found)

    choice = page.get_by_label(re.compile("Borrow a device"))
    _tab_to(page, choice)
    page.keyboard.press("ArrowDown")
    expect(choice).to_have_value("captions")
    _tab_to(page, page.locator(".devices__add button"))
    page.keyboard.press("Enter")
    expect(page.locator(".ticket__facts")).to_contain_text("Caption device")
    _axe_at_both_sizes(page, "checkout, device added", found)

    page.click(".pay-form button")
    page.wait_for_url(re.compile(r".*/mock-gateway/checkout/[\w-]+/$"))
    _axe_at_both_sizes(page, "gateway", found)
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 39")
    page.fill("#cvc", "123")
    page.click("button.pay")
    page.wait_for_url("**/bookings/*/paid/")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible(timeout=15_000)
    movie = page.locator(".showtime-head .meta").inner_text().split(" · ")[0]
    facts = page.locator(".ticket__facts")
    expect(facts).to_contain_text(f"{label}, {companion}")
    expect(facts).to_contain_text("Caption device")
    expect(page.locator(f".pass:has-text('{label}')")).to_contain_text("Wheelchair space")
    expect(page.locator(f".pass:has-text('{companion}')")).to_contain_text("Companion seat")
    _axe_at_both_sizes(page, "ticket", found)

    text = sent_email(maildir, subject=ref).get_body(("plain",)).get_content()
    assert f"{label} Adult, Wheelchair space" in text, text
    assert f"{companion} Adult, Companion seat" in text, text
    assert "Devices:    Caption device, to collect at the door" in text, text

    # The companion wants audio description too: added on the ticket page, told by email.
    page.get_by_label(re.compile("Borrow a device")).select_option("audio_description")
    page.click(".devices__add button")
    expect(facts).to_contain_text("Caption device, Audio-description headset")
    update = sent_email(maildir, subject=f"Your booking has changed: {movie}")
    text = update.get_body(("plain",)).get_content()
    assert "Audio-description headset added to your booking" in text, text
    assert "Devices:    Caption device, Audio-description headset, to collect" in text, text

    assert {name: v for name, v in found.items() if v} == {}

    if not PDFTOTEXT:
        pytest.skip("the PDF is read with pdftotext (poppler-utils)")
    pdf = page.request.get(f"{base}/bookings/{ref}/tickets.pdf")
    assert pdf.ok
    printed = subprocess.run(
        [PDFTOTEXT, "-", "-"], input=pdf.body(), capture_output=True, check=True
    ).stdout.decode()
    assert f"Seat {label} (Wheelchair space)" in printed, printed
    assert f"Seat {companion} (Companion seat)" in printed, printed
    assert printed.count("Collect at the door: Caption device") == 2, printed
    assert printed.count("Collect at the door: Audio-description headset") == 2, printed


def test_the_kept_legend_goes_when_the_spaces_are_released_live(page, stack):
    """The showtime's release time comes while the page is open: the sweeper puts the spaces on
    sale, the map shows them free, and the legend stops speaking of kept seats."""
    released = stack.manage(
        "shell",
        "-c",
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from cinema.models import Showtime\n"
        "showtime = Showtime.objects.upcoming().filter(auditorium__name__startswith='Screen 1')"
        ".order_by('-starts_at').first()\n"
        "showtime.wheelchair_release_at = timezone.now() + timedelta(seconds=6)\n"
        "showtime.save(update_fields=['wheelchair_release_at'])\n"
        "print(showtime.pk)\n",
    ).stdout.split()[-1]
    sign_in(page, base=stack[0], username="bruno", path=f"/showtimes/{released}/")
    _wait_live(page)
    kept = page.locator("[data-legend-kept]")
    expect(kept).to_be_visible()
    expect(page.locator("#seat-A1")).to_have_class(re.compile("seat--kept"))
    note = page.locator(".wheelchair-note [data-kept-note]")
    expect(note).to_be_visible()

    expect(page.locator("#seat-A1")).to_have_class(re.compile("seat--available"), timeout=20_000)
    expect(kept).to_be_hidden()
    expect(note).to_be_hidden()
    expect(page.locator(".wheelchair-note")).to_contain_text("I need a wheelchair space")
    page.reload()
    _wait_live(page)
    expect(kept).to_be_hidden()
