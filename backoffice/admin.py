"""The model admin pages that need more than one app: the auditorium's layout with the seat map
it makes (seats draws it; cinema, below seats, cannot), and the showtime's waiting room (which
waitingroom owns; staff steer it, audited, on its own page). A change staff make to a showtime
here is audited (SHOWTIME_CHANGED), which is what tells webhook receivers of it."""

from datetime import UTC, datetime

from django.contrib import admin
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Kind, record
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
    readonly_fields = [*ShowtimeAdmin.readonly_fields, "waiting_room"]

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
