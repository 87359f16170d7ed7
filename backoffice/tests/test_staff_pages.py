"""What staff read on the back office's pages: the cinema's name, the workers' state, an
event's detail in words; and a customer sent away from them without a crash's traceback."""

import logging

import pytest
from django.urls import reverse

from audit.display import local_when
from audit.health import report
from audit.services import Kind, record
from audit.workers import beat

pytestmark = pytest.mark.django_db


def test_staff_pages_carry_the_cinemas_name_not_djangos(staff, settings):
    page = staff.get("/admin/").content.decode()
    assert f"<title>Home | {settings.CINEMA_NAME} back office</title>" in page
    assert f"{settings.CINEMA_NAME} back office</a>" in page
    assert "Django administration" not in page
    assert "Django site admin" not in page


def test_system_page_shows_the_workers_as_health_reports_them(staff):
    beat("sweeper", expires_in=30)
    response = staff.get(reverse("system_status"))
    assert response.context["workers"] == report()[1]["workers"]
    assert response.context["workers"]["sweeper"] == "ok"
    assert response.context["workers"]["notifier"] == "missing"
    page = response.content.decode()
    assert '<th scope="row">Worker: sweeper</th><td>ok</td>' in page
    assert '<th scope="row">Worker: notifier</th><td><strong>missing</strong></td>' in page


DETAIL = {
    "changed": ["starts_at", "price_list"],
    "starts_at": "2026-11-25T19:30:00+00:00",
    "was": {"starts_at": "2026-11-24T19:30:00+00:00", "price_list": "Standard"},
    "refunded": True,
    "email": "ann@example.com",
}


def test_the_feed_shows_an_events_detail_in_words(staff):
    record(Kind.SHOWTIME_CHANGED, detail=DETAIL)
    page = staff.get(reverse("audit_feed")).content.decode()
    rows = page[page.index("audit-feed-rows") :].split("</tbody>")[0]
    # Key order is the database's (PostgreSQL's jsonb sorts keys), so each part on its own.
    for part in (
        "changed: starts_at, price_list",
        f"starts_at: {local_when(DETAIL['starts_at'])}",
        "was: (",
        f"starts_at: {local_when(DETAIL['was']['starts_at'])}",
        "price_list: Standard",
        "refunded: yes",
    ):
        assert part in rows
    assert "{" not in rows and "[" not in rows and "True" not in rows
    assert "ann@example.com" not in page


def test_an_audit_events_page_shows_its_detail_and_seats_in_words(staff):
    event = record(Kind.SHOWTIME_CHANGED, seats=["A3", "A4"], detail=DETAIL)
    page = staff.get(f"/admin/audit/auditevent/{event.pk}/change/").content.decode()
    assert "A3, A4" in page
    assert f"starts_at: {local_when(DETAIL['was']['starts_at'])}" in page
    assert "was: (" in page
    assert "&quot;" not in page[page.index('id="content-main"') :]
    assert "ann@example.com" not in page


@pytest.fixture
def refusals():
    """What the django.request logger hands its handlers."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_a_customer_at_the_staff_pages_is_refused_in_one_line(client, user, refusals):
    client.force_login(user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    (refusal,) = refusals
    assert refusal.status_code == 403 and refusal.levelname == "WARNING"
    assert refusal.exc_info is None


def test_a_crash_keeps_its_traceback(refusals):
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /", exc_info=True, extra={"status_code": 500})
    (crash,) = refusals
    assert crash.exc_info is not None
