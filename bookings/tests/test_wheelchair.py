"""Wheelchair spaces kept back: refused to general buyers until the showtime's release time and
open to them after it (told live to the seat map's viewers by the sweeper), held by a buyer who
says they need one, a companion seat only with its space and held together with it or not at
all; the same answers through the pages and the JSON API."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.tests.problems import assert_problem
from audit.models import AuditEvent
from bookings import services
from bookings.errors import SeatsKeptBack, SeatsUnavailable
from cinema.models import Showtime
from conftest import verified_user
from seats import holds
from seats.tests.test_consumers import _connect, _seats
from tests.websocket import close_worker_connections  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

# SMALL_LAYOUT's row C: "ac|sxss|ca", spaces C1 and C8, their companions C2 and C7.
SPACES_AND_COMPANIONS = ["C1", "C2", "C7", "C8"]


@pytest.fixture
def kept(showtime):
    """The showtime with its spaces kept back for another hour."""
    showtime.wheelchair_release_at = timezone.now() + timedelta(hours=1)
    showtime.save(update_fields=["wheelchair_release_at"])
    return showtime


def _release_now(showtime: Showtime) -> None:
    Showtime.objects.filter(pk=showtime.pk).update(
        wheelchair_release_at=timezone.now() - timedelta(seconds=1)
    )
    showtime.refresh_from_db()


def _held(showtime) -> dict[str, str]:
    return holds.held_labels(showtime_id=showtime.pk, labels=SPACES_AND_COMPANIONS)


def test_a_general_buyer_is_refused_before_the_release_and_admitted_after(kept, user):
    with pytest.raises(SeatsKeptBack) as refused:
        services.hold_seats(user=user, showtime=kept, labels=["A3", "C1", "C2"])
    assert refused.value.conflicts == ["C1", "C2"]
    assert "kept for wheelchair users until" in refused.value.message
    assert _held(kept) == {}

    _release_now(kept)
    booking = services.hold_seats(user=user, showtime=kept, labels=["C1", "C2"])
    assert booking.seat_labels == ["C1", "C2"]


def test_the_default_release_is_a_setting_before_the_start(showtime, user, settings):
    settings.WHEELCHAIR_RELEASE_HOURS = 12  # the showtime starts in 24 hours
    with pytest.raises(SeatsKeptBack):
        services.hold_seats(user=user, showtime=showtime, labels=["C8"])
    settings.WHEELCHAIR_RELEASE_HOURS = 48
    assert services.hold_seats(user=user, showtime=showtime, labels=["C8"]).seat_labels == ["C8"]


def test_a_wheelchair_user_holds_a_space_alone_or_with_its_companion(kept, user, bob):
    alone = services.hold_seats(user=user, showtime=kept, labels=["C1"], wheelchair=True)
    assert _held(kept) == {"C1": alone.hold_token}
    pair = services.hold_seats(user=bob, showtime=kept, labels=["C8", "C7"], wheelchair=True)
    assert _held(kept) == {"C1": alone.hold_token, "C7": pair.hold_token, "C8": pair.hold_token}
    placed = AuditEvent.objects.filter(kind=AuditEvent.Kind.HOLD_PLACED, booking_ref=pair.ref)
    assert placed.get().detail["wheelchair"] is True


def test_a_companion_seat_is_never_held_apart_from_its_space(kept, user):
    with pytest.raises(SeatsKeptBack) as refused:
        services.hold_seats(user=user, showtime=kept, labels=["C2"], wheelchair=True)
    assert refused.value.conflicts == ["C2"]
    assert "together with C1" in refused.value.message
    # Its space beside another companion is no answer either.
    with pytest.raises(SeatsKeptBack):
        services.hold_seats(user=user, showtime=kept, labels=["C8", "C2"], wheelchair=True)
    assert _held(kept) == {}


def test_a_space_and_its_companion_are_held_together_or_not_at_all(kept, user, bob):
    services.hold_seats(user=bob, showtime=kept, labels=["A1"])
    # Someone holds the companion (as after the release, or a hold a sale left): the space,
    # free, is not held without it.
    holds.hold(showtime_id=kept.pk, labels=["C2"], token="other-token", ttl_seconds=60)
    with pytest.raises(SeatsUnavailable) as refused:
        services.hold_seats(user=user, showtime=kept, labels=["C1", "C2"], wheelchair=True)
    assert refused.value.conflicts == ["C2"]
    assert _held(kept) == {"C2": "other-token"}


def test_best_available_finds_a_wheelchair_user_a_space_and_its_companion(kept, user, bob):
    first = services.hold_seats(user=user, showtime=kept, best=2, wheelchair=True)
    assert sorted(first.seat_labels) in (["C1", "C2"], ["C7", "C8"])
    second = services.hold_seats(user=bob, showtime=kept, best=2, wheelchair=True)
    assert sorted(first.seat_labels + second.seat_labels) == SPACES_AND_COMPANIONS
    with pytest.raises(SeatsUnavailable, match="no wheelchair space"):
        services.hold_seats(user=verified_user("cy"), showtime=kept, best=1, wheelchair=True)


async def test_the_sweeper_puts_the_spaces_on_sale_live_and_once(kept):
    viewer = await _connect(kept.pk)
    first = _seats(await viewer.receive_from())
    assert {label: first[label] for label in SPACES_AND_COMPANIONS} == dict.fromkeys(
        SPACES_AND_COMPANIONS, "kept"
    )
    assert await sync_to_async(services.release_wheelchair_places)() == []

    await sync_to_async(_release_now)(kept)
    released = await sync_to_async(services.release_wheelchair_places)()
    assert [showtime.pk for showtime in released] == [kept.pk]
    update = _seats(await viewer.receive_from(timeout=5))
    assert update == dict.fromkeys(SPACES_AND_COMPANIONS, "available")
    event = await AuditEvent.objects.aget(kind=AuditEvent.Kind.WHEELCHAIR_RELEASED)
    assert (event.showtime_id, event.seats) == (kept.pk, SPACES_AND_COMPANIONS)
    assert await sync_to_async(services.release_wheelchair_places)() == []
    await viewer.disconnect()


async def test_spaces_kept_back_again_are_told_live_and_released_again_on_the_new_time(kept):
    """Staff move the release later after the spaces went on sale (the admin's whole save): the
    free ones turn back to kept on every open map at once, and go on sale again, told, when the
    new time comes."""
    await sync_to_async(_release_now)(kept)
    await sync_to_async(services.release_wheelchair_places)()
    viewer = await _connect(kept.pk)
    first = _seats(await viewer.receive_from())
    assert {label: first[label] for label in SPACES_AND_COMPANIONS} == dict.fromkeys(
        SPACES_AND_COMPANIONS, "available"
    )

    await kept.arefresh_from_db()  # as the admin's change form reads it
    kept.wheelchair_release_at = timezone.now() + timedelta(hours=1)
    await sync_to_async(kept.save)()
    update = _seats(await viewer.receive_from(timeout=5))
    assert update == dict.fromkeys(SPACES_AND_COMPANIONS, "kept")
    event = await AuditEvent.objects.aget(kind=AuditEvent.Kind.WHEELCHAIR_KEPT)
    assert (event.showtime_id, event.seats) == (kept.pk, SPACES_AND_COMPANIONS)
    # Saved again with nothing changed: nobody is told twice.
    await sync_to_async(kept.save)()
    assert await viewer.receive_nothing(timeout=0.3)

    await sync_to_async(_release_now)(kept)
    released = await sync_to_async(services.release_wheelchair_places)()
    assert [showtime.pk for showtime in released] == [kept.pk]
    update = _seats(await viewer.receive_from(timeout=5))
    assert update == dict.fromkeys(SPACES_AND_COMPANIONS, "available")
    await viewer.disconnect()


def test_the_seat_page_asks_and_the_hold_refuses_or_admits(kept, user):
    client = Client()
    client.force_login(user)
    page = client.get(kept.get_absolute_url()).content.decode()
    assert "kept for wheelchair users until" in page
    assert "?wheelchair=1" in page
    assert 'id="seat-C1"' in page and "seat--kept" in page

    url = f"/showtimes/{kept.pk}/hold/"
    refused = client.post(url, {"seats": ["C1"]})
    assert refused.status_code == 409
    assert "kept for wheelchair users" in refused.content.decode()
    asked = client.get(f"{kept.get_absolute_url()}?wheelchair=1").content.decode()
    assert 'name="wheelchair" value="1"' in asked
    held = client.post(url, {"seats": ["C1", "C2"], "wheelchair": "1"})
    assert held.status_code == 303


def test_the_api_keeps_the_same_rule(kept, user):
    client = Client()
    client.force_login(user)
    url = f"/api/v1/showtimes/{kept.pk}/holds"
    refused = client.post(url, {"seats": ["C7"]}, content_type="application/json")
    assert_problem(refused, 409, "kept_for_wheelchair_users")
    assert refused.json()["conflicts"] == ["C7"]
    held = client.post(
        url, {"seats": ["C8", "C7"], "wheelchair": True}, content_type="application/json"
    )
    assert held.status_code == 201


def test_staff_see_the_kept_back_spaces_in_live_holds(kept, user, staff):
    services.hold_seats(user=user, showtime=kept, labels=["C1", "C2"], wheelchair=True)
    page = staff.get(reverse("live_holds_showtime", args=[kept.pk])).content.decode()
    assert "Kept for wheelchair users until" in page
    assert "C1 (held), C2 (held), C7, C8." in page
    _release_now(kept)
    page = staff.get(reverse("live_holds_showtime", args=[kept.pk])).content.decode()
    assert 'id="kept-back"' not in page


def test_a_wheelchair_user_holds_a_space_from_the_list_mode(kept, user):
    """The list mode's form says what the map's form says: the buyer needs a wheelchair space."""
    client = Client()
    client.force_login(user)
    page = client.get(kept.get_absolute_url(), {"wheelchair": "1"}).text
    assert re.search(r'id="seat-list" hx-get="[^"]*\?list=1&amp;wheelchair=1"', page)
    listed = client.get(kept.get_absolute_url(), {"wheelchair": "1", "list": "1"}).text
    form = re.search(r'<form[^>]*class="seatlist__form".*?</form>', listed, re.S)[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert fields.get("wheelchair") == "1"

    held = client.post(reverse("bookings:hold", args=[kept.pk]), {**fields, "seats": ["C1"]})
    assert held.status_code == 303
    assert set(_held(kept)) == {"C1"}


async def test_a_viewer_sees_the_release_time_staff_set_while_the_map_was_watched(kept):
    await sync_to_async(_release_now)(kept)
    watching = await _connect(kept.pk)
    assert _seats(await watching.receive_from())["C1"] == "available"

    # Staff keep the spaces back again while the map is watched in this process.
    later = timezone.now() + timedelta(hours=1)
    await Showtime.objects.filter(pk=kept.pk).aupdate(wheelchair_release_at=later)
    viewer = await _connect(kept.pk)
    seats = _seats(await viewer.receive_from())
    assert {label: seats[label] for label in SPACES_AND_COMPANIONS} == dict.fromkeys(
        SPACES_AND_COMPANIONS, "kept"
    )
    await viewer.disconnect()
    await watching.disconnect()
