# Payments become attempts recorded before the gateway is asked; refunds get their own rows.

from decimal import ROUND_HALF_UP, Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import bookings.models


def forward(apps, schema_editor):
    """Old charge rows become paid attempts; old refund rows become refunds of those charges;
    each ticket gets its share of what its booking paid."""
    Payment = apps.get_model("bookings", "Payment")
    Refund = apps.get_model("bookings", "Refund")
    Ticket = apps.get_model("bookings", "Ticket")
    for payment in Payment.objects.filter(kind="charge"):
        payment.status = "succeeded"
        payment.charge = payment.reference
        payment.currency = settings.CURRENCY
        payment.idempotency_key = bookings.models.new_key()
        payment.save()
    for old in Payment.objects.filter(kind="refund").select_related("booking"):
        charge = Payment.objects.filter(booking_id=old.booking_id, kind="charge").first()
        if charge is not None:
            Refund.objects.create(
                payment=charge,
                amount=old.amount,
                seats=old.booking.seat_labels,
                reason="refunded",
                status="succeeded",
                reference=old.reference,
                idempotency_key=bookings.models.new_key(),
            )
        old.delete()
    for ticket in Ticket.objects.select_related("booking"):
        booking = ticket.booking
        share = booking.amount / max(1, len(booking.seat_labels))
        ticket.price = share.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        ticket.save(update_fields=["price"])


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0002_payment_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="price",
            field=models.DecimalField(
                decimal_places=2, default=0, help_text="What was paid for it.", max_digits=9
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="payment",
            name="currency",
            field=models.CharField(default="GBP", max_length=3),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="payment",
            name="status",
            field=models.CharField(
                choices=[
                    ("created", "Recorded, gateway not asked yet"),
                    ("open", "On the gateway's page"),
                    ("succeeded", "Paid"),
                    ("failed", "Not paid"),
                ],
                default="created",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="idempotency_key",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="payment",
            name="session_id",
            field=models.CharField(blank=True, max_length=128, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="payment",
            name="charge",
            field=models.CharField(
                blank=True, default="", help_text="The gateway's charge.", max_length=128
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="payment",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AlterField(
            model_name="payment",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, db_index=True),
        ),
        migrations.CreateModel(
            name="Refund",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=9)),
                ("seats", models.JSONField(blank=True, default=list, help_text="The seats this refund freed.")),
                ("reason", models.CharField(max_length=40)),
                ("why", models.TextField(blank=True, help_text="The staff member's reason.")),
                ("status", models.CharField(choices=[("requested", "Owed, gateway not done yet"), ("succeeded", "Refunded")], default="requested", max_length=10)),
                ("idempotency_key", models.CharField(default=bookings.models.new_key, editable=False, max_length=64, unique=True)),
                ("reference", models.CharField(blank=True, help_text="The gateway's refund.", max_length=128)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("payment", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="refunds", to="bookings.payment")),
            ],
            options={
                "ordering": ["created_at"],
                "constraints": [models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="refund_amount_positive")],
            },
        ),
        migrations.CreateModel(
            name="WebhookEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.CharField(max_length=128, unique=True)),
                ("type", models.CharField(max_length=40)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(model_name="payment", name="kind"),
        migrations.RemoveField(model_name="payment", name="reference"),
        migrations.AlterField(
            model_name="payment",
            name="idempotency_key",
            field=models.CharField(default=bookings.models.new_key, editable=False, max_length=64, unique=True),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["status", "created_at"], name="bookings_pa_status_3e8a31_idx"),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(condition=models.Q(("amount__gte", 0)), name="payment_amount_not_negative"),
        ),
    ]
