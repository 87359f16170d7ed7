"""The back office's webhooks: staff register endpoints, read every delivery with each attempt
at it, and send deliveries again (the Manager role; webhooks/migrations)."""

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from infra.admin import ViewOnlyAdmin
from infra.dates import show_when
from webhooks import addresses, services
from webhooks.models import Attempt, Delivery, Endpoint, EventType


def local_moment(moment) -> str:
    """Local "Wed 25 Nov 19:30:05": retries are seconds apart."""
    return show_when(moment, seconds=True)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        assume_scheme="https",
        max_length=500,
        help_text="Where the events are posted: an address on the internet.",
    )
    types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The event types it receives.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "types", "secret", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            addresses.check(url, resolve=False)
        except addresses.AddressRefused as error:
            raise forms.ValidationError(str(error)) from None
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["__str__", "url", "type_list", "active", "created_at", "delivery_counts"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_at", "delivery_counts"]

    def get_queryset(self, request):
        pending, failed = Delivery.Status.PENDING, Delivery.Status.FAILED
        return (
            super()
            .get_queryset(request)
            .annotate(
                _pending=Count("deliveries", filter=Q(deliveries__status=pending)),
                _failed=Count("deliveries", filter=Q(deliveries__status=failed)),
            )
        )

    @admin.display(description="types")
    def type_list(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.types)

    @admin.display(description="deliveries")
    def delivery_counts(self, endpoint: Endpoint) -> str:
        if endpoint.pk is None:
            return "None yet."
        url = reverse("admin:webhooks_delivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">all</a> ({} pending, {} failed)',
            url,
            endpoint.pk,
            endpoint._pending,
            endpoint._failed,
        )


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["when", "status_code", "error", "response", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="at")
    def when(self, attempt: Attempt) -> str:
        return local_moment(attempt.at)


@admin.register(Delivery)
class DeliveryAdmin(ViewOnlyAdmin):
    """Made by the worker, never edited; "Send again" queues the same delivery (same id) anew."""

    actions = ["send_again"]
    inlines = [AttemptInline]
    list_display = [
        "created",
        "endpoint",
        "type",
        "subject",
        "status",
        "attempts",
        "next_attempt",
        "delivered",
    ]
    list_filter = ["status", "type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["=event__booking_ref"]
    search_help_text = "A booking reference, or a delivery id."
    date_hierarchy = "created_at"
    fields = [
        "uuid",
        "endpoint",
        "type",
        "subject",
        "event_link",
        "status",
        "attempts",
        "created_at",
        "queued_at",
        "next_attempt_at",
        "delivered_at",
        "payload",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        try:
            return queryset.filter(uuid=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    def has_send_again_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.send_again")

    @admin.action(description="Send again (the same delivery id)", permissions=["send_again"])
    def send_again(self, request, queryset):
        queued = services.send_again(deliveries=queryset, actor=request.user)
        messages.success(request, f"{queued} delivery(ies) will be sent again within seconds.")

    @admin.display(description="made", ordering="created_at")
    def created(self, delivery: Delivery) -> str:
        return local_moment(delivery.created_at)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: Delivery) -> str:
        if delivery.status != Delivery.Status.PENDING:
            return "—"
        return local_moment(delivery.next_attempt_at)

    @admin.display(description="delivered", ordering="delivered_at")
    def delivered(self, delivery: Delivery) -> str:
        return local_moment(delivery.delivered_at) or "—"

    @admin.display(description="audit event")
    def event_link(self, delivery: Delivery) -> str:
        url = reverse("admin:audit_auditevent_change", args=[delivery.event_id])
        return format_html('<a href="{}">{}</a>', url, delivery.event)

    @admin.display(description="payload")
    def payload(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(delivery.body), indent=2))
