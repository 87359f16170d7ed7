"""Staff through the API: each operation behind its role's permission; bookings filtered and
paged by cursor; audit trails and the feed; live holds for staff only; refunds, door scans and
the waiting room's figures by the same services as the back office and the door."""

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from api.tests.problems import assert_problem
from audit.models import AuditEvent
from bookings import services
from bookings.models import Booking
from bookings.tickets import passes
from cinema.services import one_price_list, schedule_showtime
from conftest import open_waiting_room, pay, verified_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


_people = itertools.count()


def _as(role: str | None) -> Client:
    person = verified_user(f"staff-{next(_people)}", is_staff=True)
    if role:
        person.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def sold(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


STAFF_ONLY = [
    ("get", "/staff/bookings", "Box office"),
    ("get", "/staff/bookings/{ref}", "Box office"),
    ("get", "/staff/bookings/{ref}/audit", "Box office"),
    ("get", "/staff/audit", "Manager"),
    ("get", "/staff/showtimes/{st}/holds", "Box office"),
    ("post", "/staff/bookings/{ref}/refund", "Box office"),
    ("post", "/staff/showtimes/{st}/scans", "Door"),
    ("get", "/staff/showtimes/{st}/waiting-room", "Programming"),
]


@pytest.mark.parametrize("method, path, role", STAFF_ONLY)
def test_each_staff_operation_is_its_role_s_only(client, user, sold, method, path, role):
    path = API + path.format(ref=sold.ref, st=sold.showtime_id)
    body = {"reason": "r", "code": "x"}

    def call(caller):
        if method == "get":
            return caller.get(path)
        return caller.post(path, body, content_type="application/json")

    assert_problem(call(Client()), 401, "not_signed_in")
    customer = Client()
    customer.force_login(user)
    assert_problem(call(customer), 403, "forbidden")
    assert_problem(call(_as(None)), 403, "forbidden")  # is_staff alone opens nothing
    others = {"Door", "Box office", "Programming", "Manager"} - {role}
    for other in others:
        assert call(_as(other)).status_code == 403, other
    assert call(_as(role)).status_code < 400


def test_bookings_are_filtered_as_the_original_system_did(showtime, user, bob, sold):
    later = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(days=1),
        price_list=one_price_list(10),
    )
    held = services.hold_seats(user=bob, showtime=later, labels=["A1"])
    box = _as("Box office")

    def refs(**query):
        page = box.get(f"{API}/staff/bookings", query)
        assert page.status_code == 200, page.content
        return [booking["ref"] for booking in page.json()["items"]]

    assert refs() == [held.ref, sold.ref]
    assert refs(status="pending") == [held.ref]
    assert refs(user="ann@example.com") == [sold.ref]
    assert refs(user="bob") == [held.ref]
    assert refs(movie="test-film") == [held.ref, sold.ref]
    assert refs(movie="another") == []
    assert refs(date=timezone.localtime(later.starts_at).date().isoformat()) == [held.ref]
    for bad in ({"status": "lost"}, {"date": "tomorrow"}, {"limit": 0}, {"limit": 101}):
        assert_problem(box.get(f"{API}/staff/bookings", bad), 400, "invalid_request")


def test_the_cursor_walks_every_booking_once_while_new_ones_arrive(showtime, user):
    for label in ["A1", "A2", "A3", "A4", "A5"]:
        booking = services.hold_seats(user=user, showtime=showtime, labels=[label])
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
    box = _as("Box office")
    seen, cursor = [], ""
    while True:
        page = box.get(f"{API}/staff/bookings", {"limit": 2, "cursor": cursor}).json()
        seen += [booking["seats"][0] for booking in page["items"]]
        if len(seen) == 2:  # a booking made meanwhile is newer: it is not on a later page
            services.hold_seats(user=user, showtime=showtime, labels=["B1"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["A5", "A4", "A3", "A2", "A1"]
    for bad in ["nonsense", "MXwy", "²"]:
        assert_problem(box.get(f"{API}/staff/bookings", {"cursor": bad}), 400, "invalid_request")


def test_a_booking_s_audit_trail_oldest_first_without_the_buyer_s_email(sold):
    trail = _as("Box office").get(f"{API}/staff/bookings/{sold.ref}/audit").json()
    kinds = [event["kind"] for event in trail]
    assert kinds[0] == "hold_placed" and "booking_confirmed" in kinds
    assert all(event["booking"] == sold.ref for event in trail)
    assert "ann@example.com" not in str(trail)
    assert_problem(_as("Box office").get(f"{API}/staff/bookings/NOPE/audit"), 404, "not_found")
    assert_problem(
        _as("Box office").get(f"{API}/staff/bookings/nope/audit"), 400, "invalid_request"
    )


def test_the_audit_feed_pages_back_by_cursor(sold):
    manager = _as("Manager")
    everything = list(AuditEvent.objects.order_by("-id").values_list("pk", flat=True))
    seen, cursor = [], ""
    while cursor is not None:
        page = manager.get(f"{API}/staff/audit", {"limit": 3, "cursor": cursor}).json()
        seen += [event["id"] for event in page["items"]]
        cursor = page["next"]
    assert seen == everything
    confirmed = manager.get(f"{API}/staff/audit", {"kind": "booking_confirmed"}).json()
    assert [event["booking"] for event in confirmed["items"]] == [sold.ref]
    assert_problem(manager.get(f"{API}/staff/audit", {"cursor": "x"}), 400, "invalid_request")


def test_live_holds_name_the_holder(showtime, user):
    held = services.hold_seats(user=user, showtime=showtime, labels=["B2"])
    holds = _as("Box office").get(f"{API}/staff/showtimes/{showtime.pk}/holds").json()
    assert holds == [
        {
            "seats": ["B2"],
            "expires_at": holds[0]["expires_at"],
            "booking": held.ref,
            "user": "ann@example.com",
        }
    ]
    assert_problem(_as("Box office").get(f"{API}/staff/showtimes/999999/holds"), 404, "not_found")


def test_a_refund_through_the_api_is_the_back_office_s(sold):
    box = _as("Box office")
    url = f"{API}/staff/bookings/{sold.ref}/refund"
    assert_problem(box.post(url, {}, "application/json"), 400, "invalid_request")  # no reason
    assert_problem(
        box.post(url, {"reason": "x", "amount": "99"}, "application/json"), 400, "invalid_request"
    )
    part = box.post(url, {"reason": "broken seat", "seats": ["A3"]}, "application/json")
    assert part.status_code == 201, part.content
    assert part.json()["refunded"] == "10.00"
    event = AuditEvent.objects.filter(booking_ref=sold.ref, kind="seats_released").get()
    assert (event.seats, event.detail["staff_reason"]) == (["A3"], "broken seat")
    rest = box.post(url, {"reason": "the rest"}, "application/json")
    assert rest.json()["refunded"] == "10.00"
    assert rest.json()["booking"]["status"] == "cancelled"
    assert_problem(box.post(url, {"reason": "again"}, "application/json"), 409, "booking_closed")


def test_the_door_scans_through_the_api(sold):
    door = _as("Door")
    url = f"{API}/staff/showtimes/{sold.showtime_id}/scans"
    code = passes(sold)[0].code
    first = door.post(url, {"code": code, "door": "main"}, "application/json").json()
    assert (first["status"], first["admitted"], first["seat"], first["checked_in"]) == (
        "admit",
        True,
        "A3",
        1,
    )
    again = door.post(url, {"code": code}, "application/json").json()
    assert (again["status"], again["admitted"], again["checked_in"]) == ("already", False, 1)
    junk = door.post(url, {"code": "not a ticket"}, "application/json").json()
    assert junk["status"] == "invalid"


def test_the_waiting_room_s_figures(showtime, sold):
    open_waiting_room(showtime, max_active=50)
    room = _as("Programming").get(f"{API}/staff/showtimes/{showtime.pk}/waiting-room").json()
    assert (room["on"], room["max_active"], room["sold"], room["queued"]) == (True, 50, 2, 0)
    assert room["left"] == room["capacity"] - 2


def test_health_says_what_slash_health_says(client):
    ours, theirs = client.get(f"{API}/health"), client.get("/health")
    assert ours.status_code == theirs.status_code == 200
    assert ours.json().keys() == theirs.json().keys()
    assert ours.json()["database"] == "ok"
