"""The provider's dashboard: what it holds, to look at (only the gateway writes its ledger)."""

from django.contrib import admin

from infra.admin import ViewOnlyAdmin
from payments.mock.models import MockRefund, MockSession, MockWebhook


@admin.register(MockSession)
class MockSessionAdmin(ViewOnlyAdmin):
    list_display = [
        "id",
        "status",
        "amount",
        "currency",
        "client_reference",
        "charge",
        "created_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["id", "client_reference", "charge", "idempotency_key"]
    date_hierarchy = "created_at"


@admin.register(MockRefund)
class MockRefundAdmin(ViewOnlyAdmin):
    list_display = ["id", "session", "amount", "reason", "created_at"]
    search_fields = ["id", "session__id", "idempotency_key"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"


@admin.register(MockWebhook)
class MockWebhookAdmin(ViewOnlyAdmin):
    list_display = ["id", "type", "session", "created_at", "delivered_at", "attempts"]
    list_filter = ["type", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "session__id"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"
