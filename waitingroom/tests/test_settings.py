"""The waiting room's settings are waitingroom's own model: a showtime without one has its room
off at the defaults, a high-demand film's new showtime starts with it on, and the migration that
moved the settings out of cinema.Showtime kept every room (and gives them back if reversed)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cinema.models import Movie
from cinema.services import one_price_list, schedule_showtime
from waitingroom import services
from waitingroom.models import WaitingRoom

BEFORE = [("cinema", "0008_waiting_room_pause"), ("waitingroom", None)]
AFTER = [("cinema", "0009_waiting_room_moves_out"), ("waitingroom", "0001_initial")]


@pytest.mark.django_db
def test_a_showtime_without_a_room_has_it_off_at_the_defaults(showtime):
    room = WaitingRoom.of(showtime)
    assert (room.on, room.paused, room.max_active, room.admit_per_minute) == (
        False,
        False,
        150,
        600,
    )
    assert room._state.adding and not services.is_on(showtime)
    assert not WaitingRoom.objects.exists()


@pytest.mark.django_db
def test_a_high_demand_films_new_showtime_starts_with_its_room_on(auditorium, showtime):
    premiere = Movie.objects.create(
        title="Premiere", slug="premiere", runtime_minutes=120, high_demand=True
    )
    scheduled = schedule_showtime(
        movie=premiere,
        auditorium=auditorium,
        starts_at=showtime.starts_at + timedelta(hours=4),
        price_list=one_price_list(Decimal("12.00")),
    )
    assert services.is_on(scheduled)
    assert WaitingRoom.objects.get(showtime=scheduled).on
    # Moving it (a second save) leaves the room as staff set it.
    services.change_room(showtime=scheduled, action="off", changes={"on": False}, by="test")
    schedule_showtime(
        movie=premiere,
        auditorium=auditorium,
        starts_at=scheduled.starts_at + timedelta(hours=1),
        price_list=scheduled.price_list,
        showtime=scheduled,
    )
    assert not WaitingRoom.objects.get(showtime=scheduled).on
    assert not services.is_on(showtime)  # the ordinary film's has none


@pytest.fixture
def latest_schema_afterwards():
    """The tests after this one need every app's latest migration back (not only AFTER: later
    migrations of cinema, and those that depend on them, are undone by going BEFORE)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_room(movie, auditorium, latest_schema_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE[:1]).apps
    Showtime = old.get_model("cinema", "Showtime")
    price_list = old.get_model("cinema", "PriceList").objects.create(name="Old prices")
    start = timezone.now() + timedelta(days=2)

    def showtime(hours: int, **room):
        return Showtime.objects.create(
            movie_id=movie.pk,
            auditorium_id=auditorium.pk,
            price_list=price_list,
            starts_at=start + timedelta(hours=hours),
            ends_at=start + timedelta(hours=hours + 2),
            **room,
        ).pk

    on = showtime(0, waiting_room=True, room_max_active=40, room_admit_per_minute=900)
    paused = showtime(3, waiting_room=True, room_paused=True, room_window_minutes=7)
    set_up_off = showtime(6, room_max_active=75)  # off, but staff had set its pace
    plain = showtime(9)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    rooms = {
        room.pk: (room.on, room.paused, room.max_active, room.admit_per_minute, room.window_minutes)
        for room in WaitingRoom.objects.all()
    }
    assert rooms == {
        on: (True, False, 40, 900, 10),
        paused: (True, True, 150, 600, 7),
        set_up_off: (False, False, 75, 600, 10),
    }
    assert plain not in rooms

    # And back: the columns get their rooms again.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Showtime = executor.loader.project_state(BEFORE[:1]).apps.get_model("cinema", "Showtime")
    back = Showtime.objects.values_list("pk", "waiting_room", "room_paused", "room_max_active")
    assert set(back) == {
        (on, True, False, 40),
        (paused, True, True, 150),
        (set_up_off, False, False, 75),
        (plain, False, False, 150),
    }
