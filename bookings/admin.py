import csv
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.display import local_when
from audit.models import AuditEvent
from bookings import services
from bookings.errors import BookingError
from bookings.models import Booking, Ticket
from config.admin import ViewOnlyAdmin

CSV_COLUMNS = [
    "ref",
    "status",
    "email",
    "movie",
    "starts_at",
    "auditorium",
    "seats",
    "amount",
    "payment_ref",
    "created_at",
]


class TicketInline(admin.TabularInline):
    model = Ticket
    fields = ["seat"]
    readonly_fields = ["seat"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ShowtimeDateFilter(admin.SimpleListFilter):
    """When the film is on, looking forward from today (local days)."""

    title = "showtime date"
    parameter_name = "showtime_date"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("tomorrow", "Tomorrow"),
            ("next7", "Next 7 days"),
            ("past", "Past"),
        ]

    def queryset(self, request, queryset):
        now = timezone.localtime()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = timedelta(days=1)
        ranges = {
            "today": (today, today + day),
            "tomorrow": (today + day, today + 2 * day),
            "next7": (today, today + 7 * day),
        }
        if self.value() == "past":
            return queryset.filter(showtime__starts_at__lt=now)
        if self.value() in ranges:
            start, end = ranges[self.value()]
            return queryset.filter(showtime__starts_at__gte=start, showtime__starts_at__lt=end)
        return queryset


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Bookings change only through the booking flow; staff read them here, cancel and refund
    through the service, and export them."""

    list_display = ["ref", "user", "film", "starts", "status", "amount"]
    list_filter = [
        "status",
        "showtime__movie",
        ShowtimeDateFilter,
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["user", "showtime__movie", "showtime__auditorium"]
    search_fields = ["=ref", "user__email", "user__username"]
    date_hierarchy = "created_at"
    inlines = [TicketInline]
    actions = ["cancel_and_refund", "export_csv"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "ref",
                    "user",
                    "showtime",
                    "status",
                    "amount",
                    "seat_labels",
                    "expires_at",
                    "payment_ref",
                    "created_at",
                    "updated_at",
                    "audit_trail",
                ]
            },
        ),
        # What the hold machinery needs and staff rarely do: folded away, one click to open.
        ("Hold internals", {"classes": ["collapse"], "fields": ["hold_token", "fence"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="film", ordering="showtime__movie__title")
    def film(self, booking):
        return booking.showtime.movie.title

    @admin.display(description="starts", ordering="showtime__starts_at")
    def starts(self, booking):
        return local_when(booking.showtime.starts_at)

    @admin.display(description="audit trail")
    def audit_trail(self, booking):
        events = AuditEvent.objects.filter(booking_ref=booking.ref).select_related("actor")
        return render_to_string(
            "bookings/admin/_audit_trail.html", {"events": events.order_by("occurred_at", "id")}
        )

    @admin.action(description="Cancel and refund the selected bookings", permissions=["change"])
    def cancel_and_refund(self, request, queryset):
        """First a page that says what will happen and asks why; then, with a reason, do it."""
        why = request.POST.get("why", "").strip()[:500]
        if "confirm" not in request.POST or not why:
            context = {
                **self.admin_site.each_context(request),
                "title": "Cancel and refund bookings",
                "opts": self.model._meta,
                "bookings": queryset.select_related("user", "showtime__movie"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "missing_reason": "confirm" in request.POST,
            }
            status = 400 if "confirm" in request.POST else 200
            return TemplateResponse(
                request, "bookings/admin/cancel_confirm.html", context, status=status
            )
        done, refused = [], []
        for booking in queryset.select_related("user"):
            try:
                services.staff_cancel(booking=booking, actor=request.user, why=why)
            except BookingError as error:
                refused.append(f"{booking.ref}: {error.message}")
            else:
                done.append(booking.ref)
        if done:
            messages.success(request, f"Cancelled {len(done)} booking(s): {', '.join(done)}.")
        for reason in refused:
            messages.warning(request, f"Not cancelled {reason}")

    @admin.action(description="Export the selected bookings as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="bookings-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        rows = queryset.select_related("user", "showtime__movie", "showtime__auditorium")
        for booking in rows.order_by("created_at"):
            writer.writerow(
                [
                    booking.ref,
                    booking.status,
                    _safe_cell(booking.user.email),
                    _safe_cell(booking.showtime.movie.title),
                    timezone.localtime(booking.showtime.starts_at).isoformat(),
                    _safe_cell(booking.showtime.auditorium.name),
                    " ".join(booking.seat_labels),
                    booking.amount,
                    booking.payment_ref,
                    timezone.localtime(booking.created_at).isoformat(),
                ]
            )
        return response


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


@admin.register(Ticket)
class TicketAdmin(ViewOnlyAdmin):
    list_display = ["booking", "showtime", "seat"]
    list_filter = ["showtime__movie"]
    list_select_related = ["booking", "showtime__movie", "showtime__auditorium"]
    search_fields = ["booking__ref", "seat__label"]
