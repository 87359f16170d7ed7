"""Staff read the trail by film and time, in local time, not by raw ids and ISO strings."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.display import local_when
from audit.models import AuditEvent
from audit.services import Kind, record
from bookings import services
from cinema.models import Movie
from cinema.services import schedule_showtime

pytestmark = pytest.mark.django_db(transaction=True)

LONDON = ZoneInfo("Europe/London")


def test_local_when_is_the_weekday_day_month_and_local_time(settings):
    settings.TIME_ZONE = "Europe/London"
    year = timezone.localdate().year
    summer = datetime(year, 7, 1, 18, 30, tzinfo=ZoneInfo("UTC"))
    assert local_when(summer) == f"{summer:%a} 1 Jul, 19:30"
    winter = datetime(year, 11, 25, 19, 30, tzinfo=ZoneInfo("UTC"))
    assert local_when(winter.isoformat()) == f"{winter:%a} 25 Nov, 19:30"
    # Another year's moment says which.
    assert local_when("2019-11-25T19:30:00+00:00") == "Mon 25 Nov 2019, 19:30"


def test_the_feed_names_the_film_and_time(staff, user, showtime):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    page = staff.get("/admin/audit-feed/").content.decode()
    assert f"Test Film, {local_when(showtime.starts_at)}" in page
    assert f"expires_at: {local_when(booking.expires_at)}" in page
    assert booking.expires_at.isoformat() not in page


def test_the_feed_names_a_page_of_showtimes_in_one_query(staff, user, auditorium, showtime):
    others = [
        schedule_showtime(
            movie=Movie.objects.create(title=f"Film {n}", slug=f"film-{n}", runtime_minutes=90),
            auditorium=auditorium,
            starts_at=showtime.starts_at.replace(year=showtime.starts_at.year + 1, day=n + 1),
            price_list=showtime.price_list,
        )
        for n in range(3)
    ]
    for other in [showtime, *others]:
        record(Kind.SYSTEM_ERROR, showtime_id=other.pk)
    with CaptureQueriesContext(connection) as queries:
        page = staff.get("/admin/audit-feed/").content.decode()
    for n in range(3):
        assert f"Film {n}, " in page
    showtime_queries = [q for q in queries if "cinema_showtime" in q["sql"]]
    assert len(showtime_queries) == 1


def test_a_live_row_names_its_film_and_time(user, showtime):
    services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    event = AuditEvent.objects.get(kind=Kind.HOLD_PLACED)
    html = render_to_string("audit/_event_row.html", {"event": event, "new": True})
    assert f"Test Film, {local_when(showtime.starts_at)}" in html
    assert local_when(event.occurred_at) in html


def test_the_event_admin_list_names_the_film_and_time(staff, user, showtime):
    services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    page = staff.get("/admin/audit/auditevent/").content.decode()
    assert f"Test Film, {local_when(showtime.starts_at)}" in page
    event = AuditEvent.objects.get(kind=Kind.HOLD_PLACED)
    assert local_when(event.occurred_at) in page


def test_a_deleted_showtime_still_reads_by_its_id(staff):
    record(Kind.SYSTEM_ERROR, showtime_id=987654)
    assert "showtime 987654" in staff.get("/admin/audit-feed/").content.decode()


def test_the_booking_trail_shows_expiry_in_local_time(staff, user, showtime):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    page = staff.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    assert f"expires_at: {local_when(booking.expires_at)}" in page
    assert booking.expires_at.isoformat() not in page
