"""Programming, who schedule the showtimes, may also cancel one (its buyers are then offered
another screening or their money back); they and Box office, who look after the buyers, see the
screening changes and who chose what."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_CHANGES = [("bookings", "view_screeningchange"), ("bookings", "view_changenotice")]
GRANTS = {
    "Programming": [("cinema", "cancel_showtime"), *VIEW_CHANGES],
    "Box office": VIEW_CHANGES,
}


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in names
    ]


def grant(apps, schema_editor):
    for label in ("cinema", "bookings"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, names in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, names))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, names in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(apps, names))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_box_office_runs_waitlists"),
        ("bookings", "0010_screening_changes"),
        ("cinema", "0014_showtime_cancelled"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
