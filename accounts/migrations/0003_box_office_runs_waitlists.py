"""Box office, who look after customers' bookings, also see the waiting lists and pause them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_waitlist", "change_waitlist", "view_waitlistentry"]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="bookings", codename__in=CODENAMES)


def grant(apps, schema_editor):
    bookings = apps.get_app_config("bookings")
    bookings.models_module = True
    create_permissions(bookings, apps=apps, verbosity=0)
    bookings.models_module = None
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name="Box office")
    group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name="Box office"):
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_programming_edits_the_cinema_page"),
        ("bookings", "0007_waitlist"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
