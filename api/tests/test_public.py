"""What anyone may read through the API: showtimes, a showtime, its seats with their version, its
prices; refusals as problem+json with a stable code; the schema and its docs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.problems import assert_problem
from bookings import services
from cinema.models import Showtime
from cinema.services import schedule_showtime
from conftest import open_waiting_room

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_showtimes_are_listed_and_filtered(client, showtime):
    listed = client.get(f"{API}/showtimes").json()
    assert [item["id"] for item in listed] == [showtime.pk]
    item = listed[0]
    assert item["film"]["slug"] == "test-film" and item["auditorium"] == "Test Hall"
    assert (item["seats_left"], item["from_price"], item["waiting_room"]) == (23, "10.00", False)
    day = timezone.localtime(showtime.starts_at).date()
    assert len(client.get(f"{API}/showtimes", {"day": day.isoformat()}).json()) == 1
    other_day = (day + timedelta(days=1)).isoformat()
    assert client.get(f"{API}/showtimes", {"day": other_day}).json() == []
    assert client.get(f"{API}/showtimes", {"film": "other"}).json() == []
    assert client.get(f"{API}/showtimes", {"format": "imax"}).json() == []
    assert len(client.get(f"{API}/showtimes", {"format": "2d", "film": "test-film"}).json()) == 1


def test_showtimes_say_their_kinds_and_are_filtered_by_them(client, showtime, user):
    later = schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(hours=4),
        price_list=showtime.price_list,
    )
    later.subtitle_language, later.relaxed, later.access_notes = "Welsh", True, "Lights up."
    later.save(update_fields=["subtitle_language", "relaxed", "access_notes"])
    services.hold_seats(user=user, showtime=showtime, labels=["C1", "C8"])
    (item,) = client.get(f"{API}/showtimes", {"kind": "relaxed"}).json()
    assert item["id"] == later.pk
    assert (item["subtitled"], item["subtitle_language"], item["relaxed"]) == (True, "Welsh", True)
    assert item["kinds"] == ["Welsh subtitles", "Relaxed screening"]
    assert item["access_notes"] == "Lights up."
    both = client.get(f"{API}/showtimes?kind=subtitled&kind=relaxed&format=2d").json()
    assert [each["id"] for each in both] == [later.pk]
    assert client.get(f"{API}/showtimes?kind=relaxed&kind=audio-described").json() == []
    # Both wheelchair spaces of the first are held: only the later one has a space free.
    wheelchair = client.get(f"{API}/showtimes", {"kind": "wheelchair"}).json()
    assert [each["id"] for each in wheelchair] == [later.pk]
    schema = client.get(f"{API}/openapi.json").json()
    assert "kinds" in schema["components"]["schemas"]["ShowtimeOut"]["properties"]


@pytest.mark.parametrize(
    "query",
    [
        {"day": "tomorrow"},
        {"day": "2026-13-01"},
        {"format": "4d"},
        {"film": "x" * 201},
        {"kind": "sing-along"},
    ],
)
def test_a_bad_filter_is_a_400assert_problem(client, showtime, query):
    body = assert_problem(client.get(f"{API}/showtimes", query), 400, "invalid_request")
    assert body["errors"]


def test_a_showtime_and_an_unknown_one(client, showtime):
    one = client.get(f"{API}/showtimes/{showtime.pk}").json()
    assert one["id"] == showtime.pk and one["on_sale"] is True
    open_waiting_room(showtime)
    assert client.get(f"{API}/showtimes/{showtime.pk}").json()["waiting_room"] is True
    assert_problem(client.get(f"{API}/showtimes/999999"), 404, "not_found")
    for bad in ("²", "x", "-1"):
        assert client.get(f"{API}/showtimes/{bad}").status_code in (400, 404)


def test_the_seats_say_each_state_as_the_viewer_sees_it_with_the_version(
    client, showtime, user, bob
):
    before = client.get(f"{API}/showtimes/{showtime.pk}/seats").json()
    assert {seat["state"] for seat in before["seats"]} == {"available", "blocked"}
    a1 = next(seat for seat in before["seats"] if seat["label"] == "A1")
    assert (a1["row"], a1["number"], a1["kind"]) == ("A", 1, "standard")
    services.hold_seats(user=user, showtime=showtime, labels=["A1"])
    client.force_login(user)
    mine = client.get(f"{API}/showtimes/{showtime.pk}/seats").json()
    assert mine["version"] > before["version"]
    assert {s["label"]: s["state"] for s in mine["seats"]}["A1"] == "mine"
    client.force_login(bob)
    theirs = client.get(f"{API}/showtimes/{showtime.pk}/seats").json()
    assert {s["label"]: s["state"] for s in theirs["seats"]}["A1"] == "held"
    assert_problem(client.get(f"{API}/showtimes/999999/seats"), 404, "not_found")


def test_the_prices(client, showtime):
    prices = client.get(f"{API}/showtimes/{showtime.pk}/prices").json()
    assert prices["currency"] == "GBP"
    assert [(t["name"], t["price"], t["default"]) for t in prices["ticket_types"]] == [
        ("Adult", "10.00", True)
    ]


def test_past_showtimes_are_not_listed(client, showtime):
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() - timedelta(hours=1))
    assert client.get(f"{API}/showtimes").json() == []


def test_the_schema_and_its_docs_need_no_cdn(client):
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/showtimes/{showtime_id}/seats" in schema["paths"]
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/static/ninja/swagger-ui-bundle" in docs.text


def test_every_problem_type_points_at_its_explanation(client):
    from api.problems import CODES
    from infra.domain import HTTP_STATUS

    page = client.get("/api/v1/problems")
    assert page.status_code == 200
    for code in {*HTTP_STATUS, *CODES} - {
        "unknown_payment",
        "bad_webhook",
        "bad_upload",
        "invalid_room_change",
    }:
        assert f'id="{code}"' in page.content.decode(), code
    problem = client.get("/api/v1/showtimes/999999").json()
    assert problem["type"] == "/api/v1/problems#not_found"
