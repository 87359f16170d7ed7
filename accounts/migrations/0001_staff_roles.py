"""The staff roles, as groups with permissions (README, "Staff roles"). A staff member acts by
the roles they are in; superusers (ADMIN_EMAILS, promote_admin) have every permission."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# The catalogue, its showtimes and their prices (the price lists' inlines included).
MODELS_PROGRAMMING_RUNS = (
    "genre",
    "movie",
    "auditorium",
    "showtime",
    "tickettype",
    "pricelist",
    "ticketprice",
    "seatsupplement",
    "voucher",
)
# role -> {app label: [permission codenames]}
ROLES = {
    "Door": {"checkin": ["use_door"]},
    "Box office": {
        "bookings": [
            "view_booking",
            "change_booking",
            "release_hold",
            "view_ticket",
            "change_ticket",
            "view_payment",
            "view_refund",
        ],
    },
    "Programming": {
        "cinema": [
            f"{action}_{model}"
            for model in MODELS_PROGRAMMING_RUNS
            for action in ("view", "add", "change", "delete")
        ]
        + ["view_seat"],
    },
    "Manager": {"bookings": ["view_sales"], "audit": ["view_auditevent", "view_system"]},
}


def make_roles(apps, schema_editor):
    # Permissions are made after all migrations ran; these need theirs now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_app in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, codenames in by_app.items():
            permissions = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            assert not missing, f"{role}: no permissions {sorted(missing)} in {app_label}"
            group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0009_staff_permissions"),
        ("bookings", "0006_staff_permissions"),
        ("checkin", "0002_staff_permissions"),
        ("cinema", "0008_waiting_room_pause"),
    ]

    operations = [migrations.RunPython(make_roles, remove_roles)]
