"""The model admin pages that need more than one app: the auditorium's layout with the seat map
it makes (seats draws it; cinema, below seats, cannot), and the showtime's waiting room (which
waitingroom owns; staff steer it, audited, on its own page). A change staff make to a showtime
here is audited (SHOWTIME_CHANGED), which is what tells webhook receivers of it; one that
changes an access screening under its buyers, and a cancellation, tell them too (bookings)."""

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models, transaction
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Kind, record
from bookings.errors import BookingError
from bookings.services.access_changes import cancel_showtime, note_showtime_change
from cinema.admin import AuditoriumAdmin, ShowtimeAdmin
from cinema.models import Auditorium, Showtime
from cinema.plans import get_plan
from seats.seatmap import compose_seat_map
from waitingroom.models import WaitingRoom


class AuditoriumWithPreviewAdmin(AuditoriumAdmin):
    readonly_fields = ["layout_preview"]
    fields = [*AuditoriumAdmin.fields, "layout_preview"]

    class Media:
        css = {"all": ["css/seatmap.css", "css/admin_preview.css"]}

    @admin.display(description="Preview (as saved)")
    def layout_preview(self, auditorium: Auditorium) -> str:
        if auditorium.pk is None:
            return "Save to see the seat map."
        seat_map = compose_seat_map(plan=get_plan(auditorium), booked=set())
        return render_to_string("backoffice/layout_preview.html", {"seat_map": seat_map})


admin.site.unregister(Auditorium)
admin.site.register(Auditorium, AuditoriumWithPreviewAdmin)


class ShowtimeWithRoomAdmin(ShowtimeAdmin):
    readonly_fields = [*ShowtimeAdmin.readonly_fields, "cancelled_at", "waiting_room"]
    actions = [*ShowtimeAdmin.actions, "cancel"]
    list_display = [*ShowtimeAdmin.list_display, "cancelled_at"]

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("cinema.cancel_showtime")

    @admin.action(description="Cancel the selected showtimes", permissions=["cancel"])
    def cancel(self, request, queryset):
        """First a page that says who will be told; then each showtime is cancelled and its
        buyers told, one by one (one refused does not stop the others)."""
        showtimes = list(queryset.select_related("movie", "auditorium").order_by("starts_at"))
        if "apply" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": "Cancel showtimes",
                "opts": self.model._meta,
                "showtimes": showtimes,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "backoffice/cancel_showtimes.html", context)
        why = request.POST.get("why", "").strip()[:300]
        told = 0
        for showtime in showtimes:
            try:
                change = cancel_showtime(showtime=showtime, actor=request.user, why=why)
            except BookingError as error:
                messages.error(request, f"{showtime}: {error.message}")
                continue
            told += change.notices.count()
        messages.success(
            request, f"Cancelled; {told} buyer(s) told, with a move or a full refund to choose."
        )

    @admin.action(
        description="Set screening kinds for the selected showtimes", permissions=["change"]
    )
    def set_kinds(self, request, queryset):
        """As the catalogue's, and an access screening losing access tells its buyers."""
        with transaction.atomic():
            before = {showtime.pk: showtime for showtime in queryset.select_for_update()}
            response = super().set_kinds(request, queryset)
            if response is None:
                for showtime in Showtime.objects.filter(pk__in=before):
                    note_showtime_change(
                        showtime=showtime, before=before[showtime.pk], actor=request.user
                    )
        return response

    @admin.display(description="Waiting room")
    def waiting_room(self, showtime: Showtime) -> str:
        if showtime.pk is None:
            return "Save to set up its waiting room."
        room = WaitingRoom.of(showtime)
        state = "off" if not room.on else "paused" if room.paused else "on"
        return format_html(
            '{}: <a href="{}">steer it</a>', state, reverse("waiting_room", args=[showtime.pk])
        )

    def save_model(self, request, obj, form, change):
        """Save it (in the admin's transaction), and record what changed, as it is now and as
        it was."""
        before = Showtime.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is None:
            return
        changed = [
            name
            for name in form.changed_data
            if Showtime._meta.get_field(name).value_from_object(before)
            != Showtime._meta.get_field(name).value_from_object(obj)
        ]
        if changed:
            note_showtime_change(showtime=obj, before=before, actor=request.user)
            record(
                Kind.SHOWTIME_CHANGED,
                actor=request.user,
                showtime_id=obj.pk,
                detail={
                    "changed": changed,
                    **{name: _plain(getattr(obj, name)) for name in changed},
                    "was": {name: _plain(getattr(before, name)) for name in changed},
                },
            )


admin.site.unregister(Showtime)
admin.site.register(Showtime, ShowtimeWithRoomAdmin)


def _plain(value):
    """A field's value as an audit event keeps it: a related row by name, a moment in ISO UTC
    (as the booking events have the showtime's)."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value
