from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.models import AuditEvent
from config.admin import ViewOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """The trail is read here and nowhere changed: no add, no edit, no delete."""

    list_display = ["occurred_at", "kind", "booking_link", "actor", "showtime_id", "seat_list"]
    list_filter = ["kind", ("occurred_at", admin.DateFieldListFilter)]
    list_select_related = ["actor"]
    search_fields = ["=booking_ref", "actor__email", "actor__username", "=request_id"]
    date_hierarchy = "occurred_at"
    fields = [
        "kind",
        "occurred_at",
        "actor",
        "showtime_id",
        "booking_ref",
        "seats",
        "detail",
        "request_id",
    ]
    readonly_fields = fields
    actions = None

    @admin.display(description="booking", ordering="booking_ref")
    def booking_link(self, event):
        if not event.booking_ref:
            return "—"
        url = reverse("admin:bookings_booking_changelist")
        return format_html('<a href="{}?q={}">{}</a>', url, event.booking_ref, event.booking_ref)

    @admin.display(description="seats")
    def seat_list(self, event):
        return ", ".join(event.seats)
