"""Programming, who run the catalogue, also keep the cinema's page (address, access, contact)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_venue", "change_venue"]


def grant(apps, schema_editor):
    cinema = apps.get_app_config("cinema")
    cinema.models_module = True
    create_permissions(cinema, apps=apps, verbosity=0)
    cinema.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Programming")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="cinema", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Programming"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="cinema", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_staff_roles"),
        ("cinema", "0010_venue"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
