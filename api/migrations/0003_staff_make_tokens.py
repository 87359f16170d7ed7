"""Every staff role may make, see and revoke its members' own API tokens (api.admin keeps each
to their own); what a token can do is its owner's roles' to say (api.auth.SCOPES)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("Door", "Box office", "Programming", "Manager")
CODENAMES = ("add_apitoken", "view_apitoken", "change_apitoken")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("api")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label="api", codename__in=CODENAMES)
    )
    assert len(permissions) == len(CODENAMES), permissions
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.add(*permissions)


def take_back(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="api", codename__in=CODENAMES)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_staff_roles"),
        ("api", "0002_api_tokens"),
    ]

    operations = [migrations.RunPython(grant, take_back)]
