"""The back office's waiting-room page: an on-sale as it happens, and the room's controls."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from bookings.tests.test_reports import sell
from conftest import open_waiting_room, redis_unreachable, room_of, verified_user
from waitingroom import queue, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(showtime):
    showtime.on_sale_at = timezone.now() - timedelta(minutes=2)
    showtime.save(update_fields=["on_sale_at"])
    return open_waiting_room(showtime, max_active=1)


def page(showtime) -> str:
    return f"/admin/waiting-room/{showtime.pk}/"


def _join(showtime, *members):
    for member in members:
        queue.join(showtime_id=showtime.pk, member=member, on_sale_ms=0)


def test_staff_see_the_queue_the_shoppers_the_pace_and_the_time_to_sell_out(staff, room, user):
    _join(room, "u101", "u102", "u103")
    services.admit_pass()  # one slot: u101 shops, two wait
    sell(room, "A1", sold_at=timezone.now() - timedelta(minutes=1), user=user)
    sell(room, "A2", user=user)
    figures = page_figures(staff, room)
    assert figures == {
        "Queued": "2",
        "Choosing seats": "1 of at most 1",
        "Let in": "1 a minute (at most 600)",
        "Sold": "2 of 23",
        "Selling": "1.0 tickets a minute",  # two in the two minutes since on-sale
        "Sold out": "in about 21 minutes",
    }


def page_figures(client, showtime) -> dict[str, str]:
    html = client.get(page(showtime), headers={"HX-Request": "true"}).text
    assert html.lstrip().startswith('<div id="room-figures"')  # the partial only, for htmx
    return {
        name: " ".join(value.split())
        for name, value in re.findall(
            r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', html
        )
    }


def test_staff_pause_resume_and_change_the_pace_audited(staff, room, staff_user):
    assert staff.get(page(room)).status_code == 200
    response = staff.post(page(room), {"action": "pause"})
    assert response.status_code == 303 and response["Location"] == page(room)
    assert room_of(room).paused
    staff.post(page(room), {"action": "resume"})
    staff.post(page(room), {"action": "set", "max_active": "40", "rate": "900", "window": "8"})
    assert not room_of(room).paused
    settings = room_of(room)
    assert (settings.max_active, settings.admit_per_minute, settings.window_minutes) == (
        40,
        900,
        8,
    )
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.WAITING_ROOM_CHANGED).order_by("id")
    assert [(e.detail["action"], e.detail["by"]) for e in events] == [
        ("pause", "ops"),
        ("resume", "ops"),
        ("set", "ops"),
    ]
    assert events.last().detail["admit_per_minute"] == 900


@pytest.mark.parametrize(
    "form",
    [
        {"action": "set", "max_active": "0", "rate": "600", "window": "10"},
        {"action": "set", "max_active": "10", "rate": "-5", "window": "10"},
        {"action": "set", "max_active": "10", "rate": "600", "window": "ten"},
        {"action": "set", "max_active": "10", "rate": "600"},
        {"action": "set", "max_active": "10", "rate": "9" * 20, "window": "10"},
        # Passes str.isdigit(), which int() refuses.
        {"action": "set", "max_active": "²", "rate": "600", "window": "10"},
        {"action": "explode"},
        {},
    ],
)
def test_bad_changes_are_refused_with_a_message_and_change_nothing(staff, room, form):
    response = staff.post(page(room), form)
    assert response.status_code == 400
    assert 'class="errornote" role="alert"' in response.text
    settings = room_of(room)
    assert (settings.max_active, settings.admit_per_minute, settings.window_minutes) == (
        1,
        600,
        10,
    )
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.WAITING_ROOM_CHANGED).exists()


def test_only_staff_who_may_change_showtimes_steer_the_room(client, room, user):
    assert client.get(page(room)).status_code == 302  # to the sign-in page
    client.force_login(user)
    assert (
        client.get(page(room), follow=True).status_code == 403
    )  # customers: the back office says no
    watcher = verified_user("watcher", is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_showtime"))
    client.force_login(watcher)
    shown = client.get(page(room))
    assert shown.status_code == 200 and "Steer the room" not in shown.text
    assert client.post(page(room), {"action": "pause"}).status_code == 403
    assert not room_of(room).paused


def test_a_post_without_csrf_is_refused(staff_user, room):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post(page(room), {"action": "pause"}).status_code == 403
    assert not room_of(room).paused


def test_with_redis_down_the_page_says_so(staff, room, settings):
    with redis_unreachable(settings):
        figures = page_figures(staff, room)
    assert figures["Queued"] == "unknown: Redis does not answer"
    assert figures["Sold"] == "0 of 23"


def test_an_unknown_showtime_is_404(staff, room):
    assert staff.get("/admin/waiting-room/999999/").status_code == 404


def test_the_list_shows_upcoming_rooms_and_later_on_sales(staff, room, showtime):
    listed = staff.get("/admin/waiting-room/")
    assert listed.status_code == 200
    assert f'href="{page(room)}"' in listed.text
    open_waiting_room(room, on=False)
    assert f'href="{page(room)}"' not in staff.get("/admin/waiting-room/").text


def test_the_showtimes_admin_page_says_how_its_room_is_and_links_to_it(staff, room, showtime):
    shown = staff.get(f"/admin/cinema/showtime/{room.pk}/change/")
    assert shown.status_code == 200
    assert f'on: <a href="{page(room)}">steer it</a>' in shown.text
    # The form has no room fields: changes go through the audited page.
    assert 'name="on"' not in shown.text and 'name="max_active"' not in shown.text
