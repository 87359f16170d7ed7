from django.contrib import admin

from bookings.models import Booking, Ticket
from cinema.admin import ViewOnlyAdmin


class TicketInline(admin.TabularInline):
    model = Ticket
    fields = ["seat"]
    readonly_fields = ["seat"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Bookings change only through the booking flow; staff read them here."""

    list_display = ["ref", "user", "showtime", "status", "amount", "created_at"]
    list_filter = ["status", "showtime__movie", "showtime__auditorium"]
    list_select_related = ["user", "showtime__movie", "showtime__auditorium"]
    search_fields = ["ref", "user__email", "user__username"]
    date_hierarchy = "created_at"
    inlines = [TicketInline]
    readonly_fields = [
        "ref",
        "user",
        "showtime",
        "status",
        "amount",
        "seat_labels",
        "hold_token",
        "fence",
        "expires_at",
        "payment_ref",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ViewOnlyAdmin):
    list_display = ["booking", "showtime", "seat"]
    list_filter = ["showtime__movie"]
    list_select_related = ["booking", "showtime__movie", "showtime__auditorium", "seat"]
    search_fields = ["booking__ref", "seat__label"]
