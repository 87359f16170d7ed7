"""The Manager role (accounts/migrations/0001_staff_roles.py) registers webhook endpoints, reads
their deliveries with every attempt, and sends a delivery again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    "view_endpoint",
    "add_endpoint",
    "change_endpoint",
    "view_delivery",
    "view_attempt",
    "send_again",
]


def _manager_and_permissions(apps):
    # Permissions are made after all migrations ran; these are needed now.
    app_config = apps.get_app_config("webhooks")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Manager")
    permissions = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="webhooks", codename__in=CODENAMES
    )
    missing = set(CODENAMES) - set(permissions.values_list("codename", flat=True))
    assert not missing, f"no permissions {sorted(missing)} in webhooks"
    return group, permissions


def grant(apps, schema_editor):
    group, permissions = _manager_and_permissions(apps)
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    group, permissions = _manager_and_permissions(apps)
    group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("accounts", "0001_staff_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
