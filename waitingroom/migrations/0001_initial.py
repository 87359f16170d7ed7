"""The waiting room's settings move from five columns of cinema.Showtime to a model of their own:
a row for every showtime whose room was on or set up (cinema's 0009 then drops the columns)."""

import django.db.models.deletion
from django.db import migrations, models

# Showtime's old column -> WaitingRoom's field.
COLUMNS = {
    "waiting_room": "on",
    "room_paused": "paused",
    "room_max_active": "max_active",
    "room_admit_per_minute": "admit_per_minute",
    "room_window_minutes": "window_minutes",
}
DEFAULTS = {
    "waiting_room": False,
    "room_paused": False,
    "room_max_active": 150,
    "room_admit_per_minute": 600,
    "room_window_minutes": 10,
}


def copy_rooms(apps, schema_editor):
    Showtime = apps.get_model("cinema", "Showtime")
    WaitingRoom = apps.get_model("waitingroom", "WaitingRoom")
    set_up = models.Q()
    for column, default in DEFAULTS.items():
        set_up |= ~models.Q(**{column: default})
    rooms = [
        WaitingRoom(
            showtime_id=values["pk"],
            **{field: values[column] for column, field in COLUMNS.items()},
        )
        for values in Showtime.objects.filter(set_up).values("pk", *COLUMNS).iterator()
    ]
    WaitingRoom.objects.bulk_create(rooms, batch_size=500)


def copy_rooms_back(apps, schema_editor):
    Showtime = apps.get_model("cinema", "Showtime")
    WaitingRoom = apps.get_model("waitingroom", "WaitingRoom")
    for room in WaitingRoom.objects.iterator():
        Showtime.objects.filter(pk=room.showtime_id).update(
            **{column: getattr(room, field) for column, field in COLUMNS.items()}
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cinema", "0008_waiting_room_pause"),
    ]

    operations = [
        migrations.CreateModel(
            name="WaitingRoom",
            fields=[
                (
                    "showtime",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="room",
                        serialize=False,
                        to="cinema.showtime",
                    ),
                ),
                (
                    "on",
                    models.BooleanField(
                        default=False,
                        help_text="Shoppers queue fairly and are let in at a pace the site can "
                        "serve (for an on-sale rush). A new showtime of a high-demand film starts "
                        "with it on.",
                    ),
                ),
                (
                    "paused",
                    models.BooleanField(
                        default=False,
                        help_text="Let nobody new in for now (the queue keeps its order).",
                    ),
                ),
                (
                    "max_active",
                    models.PositiveIntegerField(
                        default=150, help_text="Shoppers choosing seats at once, at most."
                    ),
                ),
                (
                    "admit_per_minute",
                    models.PositiveIntegerField(
                        default=600, help_text="New shoppers let in per minute, at most."
                    ),
                ),
                (
                    "window_minutes",
                    models.PositiveSmallIntegerField(
                        default=10, help_text="How long a shopper let in has to hold seats."
                    ),
                ),
            ],
        ),
        migrations.RunPython(copy_rooms, copy_rooms_back),
    ]
