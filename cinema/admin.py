from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from cinema.models import Auditorium, Genre, Movie, Seat, Showtime
from cinema.services import save_auditorium, schedule_showtime
from config.admin import ViewOnlyAdmin
from seats.seatmap import compose_seat_map, get_plan


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["title", "age_rating", "runtime_minutes", "upcoming_showtimes"]
    list_filter = ["age_rating", "genres"]
    search_fields = ["title", "synopsis"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["genres"]
    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_upcoming=Count("showtimes", filter=_upcoming_filter()))
        )

    @admin.display(description="Upcoming showtimes", ordering="_upcoming")
    def upcoming_showtimes(self, movie: Movie) -> int:
        return movie._upcoming


def _upcoming_filter() -> Q:
    return Q(showtimes__starts_at__gt=timezone.now())


@admin.register(Auditorium)
class AuditoriumAdmin(admin.ModelAdmin):
    list_display = ["name", "seat_count", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["layout_preview"]
    fields = ["name", "layout", "layout_preview"]

    class Media:
        css = {"all": ["css/seatmap.css", "css/admin_preview.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_seats=Count("seats"))

    @admin.display(description="Seats", ordering="_seats")
    def seat_count(self, auditorium: Auditorium) -> int:
        return auditorium._seats

    @admin.display(description="Preview (as saved)")
    def layout_preview(self, auditorium: Auditorium) -> str:
        if auditorium.pk is None:
            return "Save to see the seat map."
        seat_map = compose_seat_map(plan=get_plan(auditorium), booked=set())
        return render_to_string("admin/cinema/auditorium/preview.html", {"seat_map": seat_map})

    def save_model(self, request, obj, form, change):
        save_auditorium(auditorium=obj)


@admin.register(Seat)
class SeatAdmin(ViewOnlyAdmin):
    """Seats come from the auditorium layout."""

    list_display = ["label", "auditorium", "kind", "blocked"]
    list_filter = ["auditorium", "kind", "blocked"]
    search_fields = ["label"]


@admin.register(Showtime)
class ShowtimeAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "movie", "auditorium", "price", "ends_at"]
    list_filter = ["auditorium", "movie", "starts_at"]
    list_select_related = ["movie", "auditorium"]
    search_fields = ["movie__title", "auditorium__name"]
    date_hierarchy = "starts_at"
    ordering = ["starts_at"]
    autocomplete_fields = ["movie"]
    readonly_fields = ["ends_at"]

    def save_model(self, request, obj, form, change):
        schedule_showtime(
            movie=obj.movie,
            auditorium=obj.auditorium,
            starts_at=obj.starts_at,
            price=obj.price,
            showtime=obj,
        )
