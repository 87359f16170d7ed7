"""The mock provider's own ledger: what a real provider keeps in its database, not ours.

Nothing outside `payments.mock` reads these tables; the booking side only ever sees them through
`MockGateway` and the webhooks, as it would see a real provider.
"""

import secrets

from django.db import models

from payments.gateway import EventType, SessionStatus


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_urlsafe(18)}"  # 24 characters, like the provider's


def new_session_id() -> str:
    return _id("cs")


def new_charge_id() -> str:
    return _id("ch")


def new_refund_id() -> str:
    return _id("re")


def new_event_id() -> str:
    return _id("evt")


class MockSession(models.Model):
    """A hosted payment page and, once paid, its charge."""

    id = models.CharField(primary_key=True, max_length=40, default=new_session_id, editable=False)
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=255, unique=True)
    client_reference = models.CharField(max_length=255)
    return_url = models.CharField(max_length=2000)
    cancel_url = models.CharField(max_length=2000)
    status = models.CharField(
        max_length=10,
        choices=[(status.value, status.value) for status in SessionStatus],
        default=SessionStatus.OPEN,
    )
    charge = models.CharField(max_length=40, blank=True)
    # The scheme and host the buyer paid on: where a webhook URL given as a path is sent.
    origin = models.CharField(max_length=2000, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "session"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="mock_session_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.id


class MockRefund(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_refund_id, editable=False)
    session = models.ForeignKey(MockSession, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    idempotency_key = models.CharField(max_length=255, unique=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "refund"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="mock_refund_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.id


class MockWebhook(models.Model):
    """The provider's outbox: one event, its exact JSON body, and how its delivery went."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    session = models.ForeignKey(MockSession, on_delete=models.PROTECT, related_name="webhooks")
    type = models.CharField(
        max_length=30, choices=[(event.value, event.value) for event in EventType]
    )
    body = models.TextField(help_text="The exact JSON delivered.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "webhook"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivered_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"
