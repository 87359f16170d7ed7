from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html

from audit.display import detail_items, local_when, name_showtimes
from audit.models import AuditEvent
from infra.admin import ViewOnlyAdmin


class NamedShowtimesChangeList(ChangeList):
    """Names the showtimes of a page of events with one lookup."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = name_showtimes(self.result_list)


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """The trail is read here and nowhere changed: no add, no edit, no delete."""

    list_display = ["when", "kind", "booking_link", "actor", "showtime", "seat_list"]
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
        "seat_list",
        "detail_text",
        "request_id",
    ]
    readonly_fields = fields
    actions = None

    def get_changelist(self, request, **kwargs):
        return NamedShowtimesChangeList

    @admin.display(description="when", ordering="occurred_at")
    def when(self, event):
        return local_when(event.occurred_at)

    @admin.display(description="showtime", ordering="showtime_id")
    def showtime(self, event):
        return event.showtime_name or "—"

    @admin.display(description="booking", ordering="booking_ref")
    def booking_link(self, event):
        if not event.booking_ref:
            return "—"
        url = reverse("admin:bookings_booking_changelist")
        return format_html('<a href="{}?q={}">{}</a>', url, event.booking_ref, event.booking_ref)

    @admin.display(description="seats")
    def seat_list(self, event):
        return ", ".join(event.seats)

    @admin.display(description="detail")
    def detail_text(self, event):
        """As the feed shows it: plain text, local times, the buyer's email left out."""
        return "; ".join(f"{key}: {text}" for key, text in detail_items(event.detail)) or "—"
