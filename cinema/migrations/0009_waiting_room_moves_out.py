"""The waiting room's five columns go: waitingroom's 0001 has copied them into its own model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cinema", "0008_waiting_room_pause"),
        ("waitingroom", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(model_name="showtime", name=name)
        for name in [
            "waiting_room",
            "room_paused",
            "room_max_active",
            "room_admit_per_minute",
            "room_window_minutes",
        ]
    ]
