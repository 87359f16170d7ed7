"""The model admin pages that need more than one app: the auditorium's layout with the seat map
it makes (seats draws it; cinema, below seats, cannot), and the showtime's waiting room (which
waitingroom owns; staff steer it, audited, on its own page)."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

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


admin.site.unregister(Showtime)
admin.site.register(Showtime, ShowtimeWithRoomAdmin)
