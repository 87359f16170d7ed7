from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from audit.display import local_when
from audit.models import AuditEvent
from bookings import services
from bookings import tickets as ticket_files
from bookings.errors import BookingError
from bookings.models import (
    Booking,
    ChangeNotice,
    Payment,
    Refund,
    ScreeningChange,
    Ticket,
    Transfer,
    Waitlist,
    WaitlistEntry,
)
from bookings.services.refunds import Refunded
from cinema.money import format_money
from infra.admin import ViewOnlyAdmin
from infra.csvfile import csv_response
from infra.domain import http_status

# Money that has gone back, or is on its way back, to the customer.
OWED_OR_REFUNDED_STATUSES = [Refund.Status.REQUESTED, Refund.Status.SUCCEEDED]

CSV_COLUMNS = [
    "ref",
    "status",
    "email",
    "movie",
    "starts_at",
    "auditorium",
    "seats",
    "tickets",
    "amount",
    "discount",
    "voucher",
    "refunded",
    "payment_ref",
    "created_at",
]


class TicketInline(admin.TabularInline):
    model = Ticket
    fields = ["seat", "ticket_type", "category", "price", "discount", "sold_at", "transfer"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RecordsInline(admin.TabularInline):
    """Rows shown as records: no field edited, none added or deleted here (`fields` all read)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransferInline(RecordsInline):
    """Tickets of the booking passed on to someone else: to whom, and whether claimed."""

    model = Transfer
    fk_name = "booking"
    fields = ["ref", "seats", "email", "status", "receiver", "created_at", "updated_at"]


class PaymentInline(RecordsInline):
    """Every attempt to pay for the booking, as the gateway's answers left it."""

    model = Payment
    fields = ["status", "amount", "currency", "session_id", "charge", "created_at"]


class TicketLabels(forms.MultipleChoiceField):
    """The seats ticked. Whether each can still be refunded is the service's to say, with its
    own message (e.g. "already refunded"), so any label passes here."""

    def valid_value(self, value):
        return True


class RefundTicketsForm(forms.Form):
    tickets = TicketLabels(
        label="Tickets to refund",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one ticket to refund."},
    )
    amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        help_text="Leave blank to refund what was paid for the chosen tickets. "
        "An amount can only be lower than that, never higher.",
        error_messages={
            "invalid": "Enter the amount as a number, such as 7.50.",
            "min_value": f"Enter an amount above {format_money(0)}.",
            "max_decimal_places": "Enter the amount to the penny: at most 2 decimal places.",
            "max_digits": "That amount is far more than any booking.",
            "max_whole_digits": "That amount is far more than any booking.",
        },
    )
    reason = forms.CharField(
        label="Reason (kept in the audit trail)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": "Give a reason: it is kept with the refund."},
    )

    def __init__(self, *args, booking: Booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = [
            (ticket.seat.label, f"{_ticket_name(ticket)} ({format_money(ticket.price)} paid)")
            for ticket in booking.tickets.select_related("seat", "ticket_type")
        ]

    def clean_amount(self) -> Decimal | None:
        """To the penny, as the refund will be recorded ("5" is £5.00)."""
        amount = self.cleaned_data["amount"]
        return None if amount is None else amount.quantize(Decimal("0.01"))


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
    ]
    list_select_related = ["user", "showtime__movie", "showtime__auditorium"]
    # A customer is found by searching, not from a list: every buyer would be in one.
    search_fields = ["=ref", "user__email", "user__username"]
    search_help_text = "A booking reference, or the buyer's email or username."
    date_hierarchy = "created_at"
    inlines = [TicketInline, TransferInline, PaymentInline]
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
                    "discount",
                    "voucher",
                    "seats",
                    "expires_at",
                    "payment_ref",
                    "refunds",
                    "created_at",
                    "updated_at",
                    "audit_trail",
                ]
            },
        ),
        # What the hold machinery needs and staff rarely do: folded away, one click to open.
        ("Hold internals", {"classes": ["collapse"], "fields": ["hold_token", "fence"]}),
    ]
    readonly_fields = [
        *(field for _, options in fieldsets for field in options["fields"]),
        "refund_link",
    ]

    def get_fieldsets(self, request, obj=None):
        """The hold's expiry only while there is a hold (a pending booking); the refund link
        only where it leads somewhere: a confirmed booking, staff who may change it."""
        (name, options), *rest = super().get_fieldsets(request, obj)
        fields = list(options["fields"])
        if obj is None or obj.status != Booking.Status.PENDING:
            fields.remove("expires_at")
        if self._can_refund(request, obj):
            fields.insert(fields.index("refunds") + 1, "refund_link")
        return [(name, {**options, "fields": fields}), *rest]

    def _can_refund(self, request, booking: Booking | None) -> bool:
        return (
            booking is not None
            and booking.status == Booking.Status.CONFIRMED
            and self.has_change_permission(request, booking)
        )

    def get_urls(self):
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="bookings_booking_refund",
        )
        tickets = path(
            "<path:object_id>/tickets.pdf",
            self.admin_site.admin_view(self.tickets_view),
            name="bookings_booking_tickets",
        )
        return [refund, tickets, *super().get_urls()]

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

    @admin.display(description="seats")
    def seats(self, booking):
        return ", ".join(booking.seat_labels)

    @admin.display(description="audit trail")
    def audit_trail(self, booking):
        events = AuditEvent.objects.filter(booking_ref=booking.ref).select_related("actor")
        return render_to_string(
            "bookings/admin/_audit_trail.html", {"events": events.order_by("occurred_at", "id")}
        )

    @admin.display(description="refunds")
    def refunds(self, booking):
        refunds = Refund.objects.filter(payment__booking=booking).select_related("actor")
        return render_to_string("bookings/admin/_refunds.html", {"refunds": refunds})

    @admin.display(description="refund")
    def refund_link(self, booking):
        url = reverse("admin:bookings_booking_refund", args=[booking.pk])
        tickets = reverse("admin:bookings_booking_tickets", args=[booking.pk])
        return format_html(
            '<a href="{}">Refund tickets…</a> · <a href="{}">Print the tickets (PDF)</a>',
            url,
            tickets,
        )

    def tickets_view(self, request, object_id):
        """The booking's tickets as the buyer has them, for the box office to print again."""
        booking = self.get_object(request, unquote(object_id))
        if booking is None or not self.has_view_permission(request, booking):
            raise Http404("No such booking.")
        if booking.status != Booking.Status.CONFIRMED:
            raise Http404("This booking has no tickets.")
        response = HttpResponse(ticket_files.tickets_pdf(booking), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="tickets-{booking.ref}.pdf"'
        return response

    def refund_view(self, request, object_id):
        """Refund some or all tickets of a confirmed booking, for what was paid or less."""
        booking = self.get_object(request, unquote(object_id))
        if booking is None:
            raise Http404("No such booking.")
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
        if booking.status != Booking.Status.CONFIRMED:
            messages.warning(
                request,
                f"Only a confirmed booking can be refunded; {booking.ref} is "
                f"{booking.get_status_display().lower()}.",
            )
            return _see_other(change_url)
        form = RefundTicketsForm(
            request.POST if request.method == "POST" else None, booking=booking
        )
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    refund = services.refund_tickets(
                        booking=booking,
                        actor=request.user,
                        reason="refunded by staff",
                        labels=form.cleaned_data["tickets"],
                        amount=form.cleaned_data["amount"],
                        why=form.cleaned_data["reason"],
                    )
                except BookingError as error:
                    form.add_error(None, error.message)
                    status = http_status(error)
                else:
                    _report_refund(request, refund)
                    return _see_other(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund tickets of booking {booking.ref}",
            "opts": self.model._meta,
            "booking": booking,
            "paid": _paid(booking),
            "refunded": _refunded(booking),
            "form": form,
        }
        return TemplateResponse(
            request, "bookings/admin/refund_tickets.html", context, status=status
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
        bookings = (
            queryset.select_related("user", "showtime__movie", "showtime__auditorium", "voucher")
            .annotate(
                refunded=Sum(
                    "payments__refunds__amount",
                    filter=Q(payments__refunds__status__in=OWED_OR_REFUNDED_STATUSES),
                )
            )
            .prefetch_related(
                Prefetch("tickets", queryset=Ticket.objects.select_related("seat", "ticket_type"))
            )
        )
        rows = (
            [
                booking.ref,
                booking.status,
                booking.user.email,
                booking.showtime.movie.title,
                booking.showtime.starts_at,
                booking.showtime.auditorium.name,
                " ".join(booking.seat_labels),
                "; ".join(_ticket_cell(ticket) for ticket in booking.tickets.all()),
                booking.amount,
                booking.discount,
                booking.voucher.code if booking.voucher else "",
                _pounds(booking.refunded),
                booking.payment_ref,
                booking.created_at,
            ]
            for booking in bookings.order_by("created_at")
        )
        return csv_response("bookings", CSV_COLUMNS, rows)


def _ticket_cell(ticket: Ticket) -> str:
    """ "L10 Adult premium 13.95": a sold ticket's seat, type, category and what was paid."""
    return f"{_ticket_name(ticket)} {ticket.price}"


def _ticket_name(ticket: Ticket) -> str:
    kind = ticket.ticket_type.name if ticket.ticket_type else "Ticket"
    return f"{ticket.seat.label} {kind} {ticket.category}"


def _paid(booking: Booking) -> Decimal:
    """What the gateway took for the booking (a second payment included until refunded)."""
    paid = booking.payments.filter(status=Payment.Status.SUCCEEDED).aggregate(total=Sum("amount"))
    return _pounds(paid["total"])


def _refunded(booking: Booking) -> Decimal:
    refunds = Refund.objects.filter(
        payment__booking=booking, status__in=OWED_OR_REFUNDED_STATUSES
    ).aggregate(total=Sum("amount"))
    return _pounds(refunds["total"])


def _pounds(total: Decimal | None) -> Decimal:
    """A sum of money to the penny (SQLite's SUM drops the trailing zeros)."""
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def _report_refund(request, refund: Refunded) -> None:
    seats = ", ".join(refund.seats)
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(request, f"Refunded {format_money(refund.amount)} for {seats}.")
    else:
        messages.warning(
            request,
            f"Refund of {format_money(refund.amount)} for {seats} recorded and the seats freed, "
            "but the payment provider has not confirmed it yet: it is retried until it does.",
        )


def _see_other(url: str) -> HttpResponseRedirect:
    """303: after a POST, the browser follows with a GET."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@admin.register(Ticket)
class TicketAdmin(ViewOnlyAdmin):
    """Sold tickets; "Reissue" gives a ticket a new code when a picture of it has leaked."""

    actions = ["reissue"]

    list_display = ["booking", "showtime", "seat", "ticket_type", "category", "price", "sold_at"]
    list_filter = ["showtime__movie", "ticket_type", "category"]
    list_select_related = [
        "booking",
        "showtime__movie",
        "showtime__auditorium",
        "seat",
        "ticket_type",
    ]
    search_fields = ["booking__ref", "seat__label"]

    def has_reissue_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_ticket")

    @admin.action(
        description="Reissue the selected tickets (their old codes stop working)",
        permissions=["reissue"],
    )
    def reissue(self, request, queryset):
        tickets = list(queryset)
        for ticket in tickets:
            services.reissue_ticket(ticket=ticket, actor=request.user)
        messages.success(
            request,
            f"Reissued {len(tickets)} ticket(s): the buyer's ticket page has the new codes.",
        )


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    list_display = ["booking", "status", "amount", "currency", "charge", "created_at"]
    list_filter = ["status"]
    list_select_related = ["booking"]
    search_fields = ["=booking__ref", "=charge", "=session_id"]
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(ViewOnlyAdmin):
    list_display = ["booking", "amount", "seat_list", "reason", "status", "actor", "created_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["payment__booking", "actor"]
    search_fields = ["=payment__booking__ref", "=reference"]
    date_hierarchy = "created_at"

    @admin.display(description="booking", ordering="payment__booking__ref")
    def booking(self, refund):
        return refund.payment.booking

    @admin.display(description="seats")
    def seat_list(self, refund):
        return ", ".join(refund.seats)


class WaitlistEntryInline(RecordsInline):
    """The list in its order; entries change only through the services."""

    model = WaitlistEntry
    fields = ["user", "seats", "categories", "status", "booking", "offered_until", "joined_at"]


@admin.register(Waitlist)
class WaitlistAdmin(ViewOnlyAdmin):
    """Sold-out showtimes' waiting lists, in their order; "Pause" stops offering seats."""

    actions = ["pause", "resume"]
    list_display = ["showtime", "paused", "waiting"]
    list_filter = ["paused"]
    list_select_related = ["showtime__movie", "showtime__auditorium"]
    inlines = [WaitlistEntryInline]

    def get_queryset(self, request):
        waiting = Q(entries__status=WaitlistEntry.Status.WAITING)
        return super().get_queryset(request).annotate(waiting=Count("entries", filter=waiting))

    @admin.display(description="waiting", ordering="waiting")
    def waiting(self, waitlist):
        return waitlist.waiting

    def has_pause_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_waitlist")

    def _set_paused(self, request, queryset, *, paused: bool) -> None:
        for waitlist in queryset.select_related("showtime"):
            services.pause_waitlist(showtime=waitlist.showtime, paused=paused, actor=request.user)
        messages.success(
            request, f"{'Paused' if paused else 'Resumed'} {queryset.count()} list(s)."
        )

    @admin.action(description="Pause the selected lists (no seats offered)", permissions=["pause"])
    def pause(self, request, queryset):
        self._set_paused(request, queryset, paused=True)

    @admin.action(description="Resume the selected lists", permissions=["pause"])
    def resume(self, request, queryset):
        self._set_paused(request, queryset, paused=False)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ViewOnlyAdmin):
    list_display = ["waitlist", "user", "seats", "status", "booking", "offered_until", "joined_at"]
    list_filter = ["status"]
    list_select_related = ["waitlist", "user", "booking"]
    search_fields = ["=user__email", "=booking__ref"]


class ChangeNoticeInline(RecordsInline):
    """Each buyer told of the change, and what they chose (a move: to which screening)."""

    model = ChangeNotice
    fields = ["booking", "buyer", "told_at", "choice", "moved_to", "chosen_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("booking__user", "moved_to__movie", "moved_to__auditorium")
        )

    @admin.display(description="buyer")
    def buyer(self, notice: ChangeNotice) -> str:
        return notice.booking.user.email


@admin.register(ScreeningChange)
class ScreeningChangeAdmin(ViewOnlyAdmin):
    """Screenings changed under their buyers (cancelled, moved, access taken away): who was
    told, and who chose what. Written only by bookings.services.access_changes."""

    list_display = ["created_at", "showtime", "kind", "removed", "actor", "told", "answered"]
    list_filter = ["kind"]
    list_select_related = ["showtime__movie", "showtime__auditorium", "actor"]
    fields = ["showtime", "kind", "access", "removed", "was_starts_at", "actor", "created_at"]
    inlines = [ChangeNoticeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                told=Count("notices"),
                answered=Count("notices", filter=~Q(notices__choice="")),
            )
        )

    @admin.display(description="buyers told", ordering="told")
    def told(self, change: ScreeningChange) -> int:
        return change.told

    @admin.display(description="chosen", ordering="answered")
    def answered(self, change: ScreeningChange) -> int:
        return change.answered
