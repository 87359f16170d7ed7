import secrets

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import bookings.models


def give_every_ticket_a_secret(apps, schema_editor):
    Ticket = apps.get_model("bookings", "Ticket")
    for ticket in Ticket.objects.filter(secret__isnull=True).only("pk").iterator():
        Ticket.objects.filter(pk=ticket.pk).update(secret=secrets.token_urlsafe(16))


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_checkout"),
        ("cinema", "0006_vouchers_and_required_prices"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="secret",
            field=models.CharField(max_length=32, null=True, editable=False),
        ),
        migrations.RunPython(give_every_ticket_a_secret, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ticket",
            name="secret",
            field=models.CharField(
                default=bookings.models.new_ticket_secret,
                editable=False,
                help_text="What its QR code carries (signed); reissuing the ticket replaces it.",
                max_length=32,
                unique=True,
            ),
        ),
        migrations.CreateModel(
            name="VoidTicket",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ticket_id", models.BigIntegerField(db_index=True)),
                ("booking_ref", models.CharField(max_length=12)),
                ("seat_label", models.CharField(max_length=8)),
                ("secret", models.CharField(max_length=32, unique=True)),
                (
                    "reason",
                    models.CharField(
                        choices=[("refunded", "Refunded"), ("reissued", "Reissued")], max_length=10
                    ),
                ),
                ("voided_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "showtime",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cinema.showtime",
                    ),
                ),
            ],
        ),
    ]
