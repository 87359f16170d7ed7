from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Case, Count, Q, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from audit.services import Kind, record
from cinema.forms import ScreeningKindsForm, VoucherBatchForm
from cinema.models import (
    AccessDevice,
    Auditorium,
    Genre,
    Movie,
    PriceList,
    Seat,
    SeatSupplement,
    Showtime,
    TicketPrice,
    TicketType,
    Venue,
    Voucher,
)
from cinema.posters import Poster, PosterError, make_poster, save_movie_poster
from cinema.services import (
    issue_vouchers,
    save_auditorium,
    schedule_showtime,
    set_screening_kinds,
)
from infra.admin import RowLabelledForm, ViewOnlyAdmin
from infra.csvfile import csv_response
from infra.inputs import whole_number


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class MovieAdminForm(forms.ModelForm):
    poster_upload = forms.FileField(
        label="Poster",
        required=False,
        help_text="JPEG, PNG or WebP, portrait (2:3 looks best), up to "
        f"{settings.POSTER_MAX_BYTES // (1024 * 1024)} MB. Replaces the current poster.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_poster_upload(self) -> Poster | None:
        upload = self.cleaned_data.get("poster_upload")
        if not upload:
            return None
        try:
            # One byte over the limit is enough for make_poster to refuse it, unread beyond.
            return make_poster(data=upload.read(settings.POSTER_MAX_BYTES + 1))
        except PosterError as error:
            raise forms.ValidationError(str(error)) from error


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    form = MovieAdminForm
    list_display = ["title", "age_rating", "runtime_minutes", "upcoming_showtimes"]
    list_filter = ["age_rating", "genres"]
    search_fields = ["title", "synopsis"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["genres"]
    readonly_fields = ["current_poster"]
    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_upcoming=Count("showtimes", filter=_upcoming_filter()))
        )

    def get_search_results(self, request, queryset, search_term):
        """Titles starting with the term first, then titles containing it, then the rest (the
        showtime form's movie autocomplete keeps this order; the changelist sorts its own)."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            rank = Case(
                When(title__istartswith=term, then=0),
                When(title__icontains=term, then=1),
                default=2,
            )
            queryset = queryset.annotate(_title_rank=rank).order_by("_title_rank", "title")
        return queryset, may_have_duplicates

    @admin.display(description="Upcoming showtimes", ordering="_upcoming")
    def upcoming_showtimes(self, movie: Movie) -> int:
        return movie._upcoming

    @admin.display(description="Current poster")
    def current_poster(self, movie: Movie) -> str:
        if not movie.poster_card:
            return "None yet: the site shows a placeholder."
        width, height = movie.poster_card_size
        return format_html(
            '<img src="{}" width="{}" height="{}" alt="">', movie.poster_card_url, width, height
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if poster := form.cleaned_data.get("poster_upload"):
            save_movie_poster(movie=obj, poster=poster)


def _upcoming_filter() -> Q:
    return Q(showtimes__starts_at__gt=timezone.now())


class AccessDeviceInline(admin.TabularInline):
    model = AccessDevice
    extra = 0
    verbose_name_plural = "Access devices to lend (per showtime)"


@admin.register(Auditorium)
class AuditoriumAdmin(admin.ModelAdmin):
    """The hall's layout as staff type it; the back office adds the seat map's preview."""

    list_display = ["name", "seat_count", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "layout"]
    inlines = [AccessDeviceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_seats=Count("seats"))

    @admin.display(description="Seats", ordering="_seats")
    def seat_count(self, auditorium: Auditorium) -> int:
        return auditorium._seats

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
    list_display = ["starts_at", "movie", "auditorium", "price_list", "ends_at"]
    list_filter = ["auditorium", "movie", "starts_at", "price_list"]
    actions = ["use_price_list", "set_kinds"]
    list_select_related = ["movie", "auditorium", "price_list"]
    search_fields = ["movie__title", "auditorium__name"]
    date_hierarchy = "starts_at"
    ordering = ["starts_at"]
    autocomplete_fields = ["movie"]
    readonly_fields = ["ends_at"]

    @admin.action(description="Use a price list for the selected showtimes", permissions=["change"])
    def use_price_list(self, request, queryset):
        """First a page to choose the list; then every selected showtime uses it, audited."""
        chosen_id = whole_number(request.POST.get("price_list", ""))
        chosen = None if chosen_id is None else PriceList.objects.filter(pk=chosen_id).first()
        if "apply" not in request.POST or chosen is None:
            context = {
                **self.admin_site.each_context(request),
                "title": "Use a price list",
                "opts": self.model._meta,
                "showtimes": queryset.select_related("movie", "auditorium", "price_list"),
                "price_lists": PriceList.objects.all(),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "missing_list": "apply" in request.POST,
            }
            status = 400 if "apply" in request.POST else 200
            return TemplateResponse(
                request, "cinema/admin/use_price_list.html", context, status=status
            )
        names = dict(PriceList.objects.values_list("pk", "name"))
        with transaction.atomic():
            showtimes = list(queryset.select_for_update().exclude(price_list=chosen))
            for showtime in showtimes:
                record(
                    Kind.PRICES_CHANGED,
                    actor=request.user,
                    showtime_id=showtime.pk,
                    detail={
                        "price_list": chosen.name,
                        "was": names.get(showtime.price_list_id, ""),
                    },
                )
            Showtime.objects.filter(pk__in=[s.pk for s in showtimes]).update(price_list=chosen)
        messages.success(request, f"{len(showtimes)} showtime(s) now use {chosen.name}.")

    @admin.action(
        description="Set screening kinds for the selected showtimes", permissions=["change"]
    )
    def set_kinds(self, request, queryset):
        """First a page to choose what changes; then every selected showtime gets it, each
        change audited (cinema.services.set_screening_kinds)."""
        applying = "apply" in request.POST
        form = ScreeningKindsForm(request.POST if applying else None)
        if not applying or not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Set screening kinds",
                "opts": self.model._meta,
                "showtimes": queryset.select_related("movie", "auditorium"),
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request,
                "cinema/admin/set_screening_kinds.html",
                context,
                status=400 if applying else 200,
            )
        count = set_screening_kinds(showtimes=queryset, kinds=form.changes(), actor=request.user)
        messages.success(request, f"{count} showtime(s) changed.")

    def save_model(self, request, obj, form, change):
        schedule_showtime(
            movie=obj.movie,
            auditorium=obj.auditorium,
            starts_at=obj.starts_at,
            price_list=obj.price_list,
            showtime=obj,
        )


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "rule", "highest_rating", "is_default", "position"]
    list_editable = ["position"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=RowLabelledForm, **kwargs)


class TicketPriceInline(admin.TabularInline):
    model = TicketPrice
    extra = 0
    verbose_name_plural = "Ticket prices"


class SeatSupplementInline(admin.TabularInline):
    model = SeatSupplement
    extra = 0
    verbose_name_plural = "Seat category supplements"


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    """One price list as one table: a price per ticket type, a supplement per seat category."""

    list_display = ["name", "showtime_count"]
    search_fields = ["name"]
    inlines = [TicketPriceInline, SeatSupplementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(showtime_total=Count("showtimes"))

    @admin.display(description="Showtimes", ordering="showtime_total")
    def showtime_count(self, price_list) -> int:
        return price_list.showtime_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        price_list = form.instance
        record(
            Kind.PRICES_CHANGED,
            actor=request.user,
            detail={
                "price_list": price_list.name,
                "prices": {
                    price.ticket_type.name: str(price.price)
                    for price in price_list.prices.select_related("ticket_type")
                },
                "supplements": {
                    supplement.category: str(supplement.amount)
                    for supplement in price_list.supplements.all()
                },
            },
        )


class BatchFilter(admin.SimpleListFilter):
    """The batches codes were made in (a code added alone has none, and no link here)."""

    title = "batch"
    parameter_name = "batch"

    def lookups(self, request, model_admin):
        batches = Voucher.objects.exclude(batch="").order_by("batch").values_list("batch")
        return [(batch, batch) for (batch,) in batches.distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(batch=self.value()) if self.value() else queryset


VOUCHER_CSV_COLUMNS = ["code", "offer", "max_uses", "uses", "valid_from", "valid_until", "batch"]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    """Single codes are added here; a batch is generated from the list's "Generate a batch"."""

    list_display = ["code", "label", "uses", "max_uses", "valid_from", "valid_until", "batch"]
    list_filter = ["kind", BatchFilter]
    search_fields = ["code", "=batch"]
    readonly_fields = ["uses", "created_at"]
    autocomplete_fields = ["showtimes"]
    filter_horizontal = ["ticket_types"]
    actions = ["export_csv"]
    change_list_template = "cinema/admin/voucher_change_list.html"

    @admin.display(description="Gives")
    def label(self, voucher: Voucher) -> str:
        return voucher.label

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="cinema_voucher_generate",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record(
                Kind.VOUCHERS_ISSUED,
                actor=request.user,
                detail={
                    "code": obj.code,
                    "offer": obj.label,
                    **({"changed": form.changed_data} if change else {"count": 1}),
                },
            )

    def generate_view(self, request):
        """A batch of codes alike; afterwards their CSV is one click away."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = VoucherBatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            vouchers = issue_vouchers(
                template=form.instance,
                ticket_types=form.cleaned_data["ticket_types"],
                showtimes=form.cleaned_data["showtimes"],
                count=form.cleaned_data["count"],
                prefix=form.cleaned_data["prefix"],
                actor=request.user,
            )
            batch = form.instance.batch
            messages.success(request, f"{len(vouchers)} codes made in the batch {batch}.")
            return redirect(f"{reverse('admin:cinema_voucher_changelist')}?batch={quote(batch)}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate a batch of vouchers",
            "opts": self.model._meta,
            "form": form,
        }
        status = 400 if form.errors else 200
        return TemplateResponse(request, "cinema/admin/voucher_batch.html", context, status=status)

    @admin.action(description="Export the selected vouchers as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        rows = (
            [
                voucher.code,
                voucher.label,
                voucher.max_uses,
                voucher.uses,
                voucher.valid_from,
                voucher.valid_until,
                voucher.batch,
            ]
            for voucher in queryset.order_by("batch", "code")
        )
        return csv_response("vouchers", VOUCHER_CSV_COLUMNS, rows)


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    """The one cinema page: the list goes straight to it (made on first save), never a second."""

    fieldsets = [
        (None, {"fields": ["address"]}),
        ("Visiting", {"fields": ["getting_here", "accessibility"]}),
        ("Contact", {"fields": ["phone", "email", "box_office_hours"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect(reverse("admin:cinema_venue_change", args=[Venue.SINGLE]))

    def get_object(self, request, object_id, from_field=None):
        if str(object_id) != str(Venue.SINGLE):
            return None
        return super().get_object(request, object_id, from_field) or Venue()

    def view_on_site(self, obj) -> str:
        return reverse("cinema:venue")
