"""The model admin pages that need more than one app: the auditorium's layout with the seat map
it makes (seats draws it; cinema, below seats, cannot)."""

from django.contrib import admin
from django.template.loader import render_to_string

from cinema.admin import AuditoriumAdmin
from cinema.models import Auditorium
from cinema.plans import get_plan
from seats.seatmap import compose_seat_map


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
