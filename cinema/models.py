import re
import secrets
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from cinema.layout import LayoutError, parse_layout
from cinema.money import format_money
from cinema.posters import CARD_BOX, fit
from infra.dates import show_when
from infra.media import media_url


class Genre(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Movie(models.Model):
    class AgeRating(models.TextChoices):
        U = "U", "U"
        PG = "PG", "PG"
        R12A = "12A", "12A"
        R15 = "15", "15"
        R18 = "18", "18"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    synopsis = models.TextField(blank=True)
    runtime_minutes = models.PositiveSmallIntegerField()
    age_rating = models.CharField(max_length=3, choices=AgeRating.choices, default=AgeRating.PG)
    genres = models.ManyToManyField(Genre, blank=True, related_name="movies")
    # Two renditions of the uploaded poster (cinema.posters), content-hashed names in the default
    # storage; the width and height are the large one's, the card has the same aspect.
    poster_card = models.FileField(upload_to="posters/", blank=True, editable=False)
    poster_large = models.FileField(upload_to="posters/", blank=True, editable=False)
    poster_width = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    poster_height = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    high_demand = models.BooleanField(
        default=False, help_text="New showtimes of this film open with the waiting room on."
    )
    director = models.CharField(max_length=200, blank=True)
    cast = models.CharField(max_length=500, blank=True, help_text="Main cast, comma separated.")
    trailer_url = models.URLField(blank=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(runtime_minutes__gt=0), name="movie_runtime_positive"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("cinema:movie", kwargs={"slug": self.slug})

    @property
    def poster_card_url(self) -> str:
        return media_url(self.poster_card.name) if self.poster_card else ""

    @property
    def poster_large_url(self) -> str:
        return media_url(self.poster_large.name) if self.poster_large else ""

    @property
    def poster_card_size(self) -> tuple[int, int] | None:
        if not self.poster_width or not self.poster_height:
            return None
        return fit((self.poster_width, self.poster_height), CARD_BOX)

    @property
    def poster_tone(self) -> int:
        """Which of the placeholder colourways to use when there is no poster."""
        return (self.pk or 0) % 4

    @property
    def runtime_display(self) -> str:
        hours, minutes = divmod(self.runtime_minutes, 60)
        return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


class Auditorium(models.Model):
    name = models.CharField(max_length=80, unique=True)
    layout = models.TextField(
        help_text="One line per row, screen at the top: a row label, spaces, then cells. "
        "s seat, p premium, v VIP recliner, a accessible, c companion, x blocked, . gap, | aisle; "
        "a line of - is a "
        "cross aisle. Example: 'A  ssss|ssssss|ssss'."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            parse_layout(self.layout)
        except LayoutError as error:
            raise ValidationError({"layout": str(error)}) from error


class AccessDevice(models.Model):
    """How many of one kind of access device an auditorium has to lend: each showtime there
    lends at most that many (they come back at the end, before the next)."""

    class Kind(models.TextChoices):
        AUDIO_DESCRIPTION = "audio_description", "Audio-description headset"
        CAPTIONS = "captions", "Caption device"

    auditorium = models.ForeignKey(
        Auditorium, on_delete=models.CASCADE, related_name="access_devices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    stock = models.PositiveSmallIntegerField(help_text="How many the cinema has for this hall.")

    class Meta:
        ordering = ["auditorium", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["auditorium", "kind"], name="one_stock_per_device"),
        ]

    def __str__(self) -> str:
        return f"{self.auditorium}: {self.get_kind_display()} x {self.stock}"


class Seat(models.Model):
    class Kind(models.TextChoices):
        """The seat's category: what a price list may charge a supplement for."""

        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"
        VIP = "vip", "VIP recliner"
        ACCESSIBLE = "accessible", "Wheelchair space"
        COMPANION = "companion", "Companion seat"

    auditorium = models.ForeignKey(Auditorium, on_delete=models.CASCADE, related_name="seats")
    row = models.CharField(max_length=3)
    number = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=8)
    x = models.PositiveSmallIntegerField()
    y = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STANDARD)
    blocked = models.BooleanField(default=False, help_text="Blocked seats are never offered.")

    class Meta:
        ordering = ["auditorium", "y", "x"]
        constraints = [
            models.UniqueConstraint(fields=["auditorium", "label"], name="seat_label_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.auditorium} {self.label}"


class ShowtimeQuerySet(models.QuerySet):
    def upcoming(self):
        return self.filter(starts_at__gt=timezone.now()).order_by("starts_at")

    def subtitled(self):
        """Those with words on the screen: subtitles in any language, or open captions."""
        return self.filter(~models.Q(subtitle_language="") | models.Q(open_captions=True))


class Showtime(models.Model):
    movie = models.ForeignKey(Movie, on_delete=models.PROTECT, related_name="showtimes")
    auditorium = models.ForeignKey(Auditorium, on_delete=models.PROTECT, related_name="showtimes")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(
        editable=False, help_text="Start plus runtime plus the cleaning gap; set on save."
    )
    price_list = models.ForeignKey(
        "PriceList",
        on_delete=models.PROTECT,
        related_name="showtimes",
        help_text="What each ticket type costs and what each seat category adds.",
    )
    on_sale = models.BooleanField(default=True, help_text="Untick to stop selling seats.")
    on_sale_at = models.DateTimeField(
        null=True, blank=True, help_text="When seats go on sale; blank: they are on sale now."
    )

    class Format(models.TextChoices):
        STANDARD = "2d", "2D"
        THREE_D = "3d", "3D"
        IMAX = "imax", "IMAX"

    format = models.CharField(max_length=4, choices=Format.choices, default=Format.STANDARD)
    # Screening kinds (issue 35): what a moviegoer may look for beyond the projection. The
    # languages are words as the buyer reads them ("French"); blank audio is the film's own.
    audio_language = models.CharField(
        max_length=30, blank=True, help_text="e.g. French, if dubbed; blank: the original."
    )
    subtitle_language = models.CharField(
        max_length=30, blank=True, help_text="e.g. English; blank: no subtitles."
    )
    open_captions = models.BooleanField(
        default=False, help_text="Captions for deaf and hard-of-hearing people, on the screen."
    )
    audio_described = models.BooleanField(default=False)
    relaxed = models.BooleanField(
        default=False, help_text="Autism-friendly: lights up low, sound down, moving about is fine."
    )
    parent_and_baby = models.BooleanField(default=False)
    seniors = models.BooleanField(default=False)
    access_notes = models.CharField(
        max_length=300, blank=True, help_text="Anything else to know, shown with the showtime."
    )
    wheelchair_release_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Until then wheelchair spaces and their companion seats are sold only to "
        "wheelchair users; blank: WHEELCHAIR_RELEASE_HOURS before the start.",
    )
    # Set by the sweeper once it has told the seat map's viewers the spaces are on general sale.
    wheelchair_release_told = models.BooleanField(default=False, editable=False)
    # Staff cancelled it (bookings.services.access_changes.cancel_showtime): it sells nothing
    # again, and its buyers are offered another screening or their money back.
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ShowtimeQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["auditorium", "starts_at"])]
        # The Programming role's (accounts/migrations).
        permissions = [("cancel_showtime", "Can cancel a showtime")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="showtime_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.movie} · {self.auditorium} · {show_when(self.starts_at)}"

    def save(self, *args, **kwargs) -> None:
        self.ends_at = self.compute_ends_at()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("bookings:showtime", kwargs={"showtime_id": self.pk})

    def selection_url(self, labels: list[str]) -> str:
        """The seat map with these seats ticked again (the page ticks only real seats); labels
        may come from a request, so only a booking's worth of label-sized ones are kept."""
        labels = [label for label in labels if len(label) <= 10][: settings.MAX_SEATS_PER_BOOKING]
        query = urlencode({"seats": labels}, doseq=True)
        return f"{self.get_absolute_url()}?{query}" if query else self.get_absolute_url()

    def compute_ends_at(self):
        gap = timedelta(minutes=settings.CLEANING_GAP_MINUTES)
        return self.starts_at + timedelta(minutes=self.movie.runtime_minutes) + gap

    def overlapping(self) -> models.QuerySet:
        """Other showtimes in the same auditorium whose time (with cleaning gap) meets this one."""
        return (
            Showtime.objects.filter(
                auditorium_id=self.auditorium_id,
                starts_at__lt=self.compute_ends_at(),
                ends_at__gt=self.starts_at,
            )
            .exclude(pk=self.pk)
            .select_related("movie")
        )

    def clean(self) -> None:
        if self.starts_at is None or self.movie_id is None or self.auditorium_id is None:
            return
        clash = self.overlapping().first()
        if clash is not None:
            raise ValidationError(
                f"{self.auditorium_name()} is busy: '{clash.movie}' starts at "
                f"{show_when(clash.starts_at)} and runs until "
                f"{timezone.localtime(clash.ends_at):%H:%M} with cleaning. Pick another time."
            )

    def auditorium_name(self) -> str:
        return Auditorium.objects.values_list("name", flat=True).get(pk=self.auditorium_id)

    @property
    def is_upcoming(self) -> bool:
        return self.starts_at > timezone.now()

    @property
    def subtitled(self) -> bool:
        """Words on the screen, in a language or as open captions (the "subtitled" filter)."""
        return bool(self.subtitle_language) or self.open_captions

    @property
    def kinds(self) -> list[str]:
        """What kind of screening this is, in words, for badges, emails, the .ics and the PDF:
        the one place that names them, so every surface says the same."""
        named = [
            (self.format != self.Format.STANDARD, self.get_format_display()),
            (bool(self.audio_language), f"{self.audio_language} audio"),
            (bool(self.subtitle_language), f"{self.subtitle_language} subtitles"),
            (self.open_captions, "Open captions"),
            (self.audio_described, "Audio described"),
            (self.relaxed, "Relaxed screening"),
            (self.parent_and_baby, "Parent and baby"),
            (self.seniors, "Seniors"),
        ]
        return [words for shown, words in named if shown]

    @property
    def sale_opens_later(self) -> bool:
        """Its on-sale time is still to come (nothing may be held yet)."""
        return bool(self.on_sale_at and self.on_sale_at > timezone.now())


# What one ticket may cost, and what a seat category may add to it: a mistyped extra zero is
# refused by the admin form and by the database alike.
MAX_TICKET_PRICE = Decimal("500.00")
MAX_SUPPLEMENT = Decimal("100.00")


def _money(*, at_most: Decimal) -> list:
    return [MinValueValidator(Decimal("0.00")), MaxValueValidator(at_most)]


class TicketType(models.Model):
    """Adult, Child, Senior, Student... and whatever staff add; one of them is the default."""

    name = models.CharField(max_length=40, unique=True)
    rule = models.CharField(
        max_length=120,
        blank=True,
        help_text='Shown to the buyer next to the name, e.g. "Under 15" or "60 and over, ID may '
        'be asked".',
    )
    highest_rating = models.CharField(
        max_length=3,
        choices=Movie.AgeRating.choices,
        blank=True,
        help_text="The highest age rating this ticket is sold for (Child: 12A, so no Child "
        "tickets for a 15 or an 18 film). Blank: every film.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Chosen for every seat until the buyer picks another."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the checkout.")

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_ticket_type",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def allowed_for(self, rating: str) -> bool:
        """Whether this ticket may be sold for a film rated `rating`."""
        return sold_for(rating, highest=self.highest_rating)


def sold_for(rating: str, *, highest: str) -> bool:
    """Whether a ticket sold for films up to the `highest` rating (blank: any) may be sold for a
    film rated `rating`."""
    if not highest:
        return True
    order = list(Movie.AgeRating.values)
    return order.index(rating) <= order.index(highest)


def new_version() -> str:
    # Random, not a counter: a counter comes back after a rolled-back transaction.
    return secrets.token_hex(8)


class PriceList(models.Model):
    """A named set of prices ("Peak", "Off-peak", "Premiere"); each showtime uses one."""

    name = models.CharField(max_length=60, unique=True)
    version = models.CharField(
        max_length=16,
        default=new_version,
        editable=False,
        help_text="New with every change to the list's prices (see cinema.signals): what a "
        "price card cached in a web process is checked against.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketPrice(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="prices")
    price = models.DecimalField(
        max_digits=7, decimal_places=2, validators=_money(at_most=MAX_TICKET_PRICE)
    )

    class Meta:
        ordering = ["price_list", "ticket_type__position", "ticket_type__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "ticket_type"], name="one_price_per_ticket_type"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0, price__lte=MAX_TICKET_PRICE),
                name="ticket_price_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list}: {self.ticket_type} {self.price}"


class SeatSupplement(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="supplements")
    category = models.CharField(max_length=12, choices=Seat.Kind.choices)
    amount = models.DecimalField(
        max_digits=6, decimal_places=2, validators=_money(at_most=MAX_SUPPLEMENT)
    )

    class Meta:
        ordering = ["price_list", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "category"], name="one_supplement_per_category"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0, amount__lte=MAX_SUPPLEMENT),
                name="seat_supplement_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list}: {self.get_category_display()} +{self.amount}"


class Voucher(models.Model):
    """A code that takes an amount or a percentage off, within dates, a number of times."""

    class Kind(models.TextChoices):
        AMOUNT = "amount", "Amount off the booking"
        PERCENT = "percent", "Percent off each ticket"

    code = models.CharField(
        max_length=32, unique=True, help_text="What the buyer types; letters and digits."
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_TICKET_PRICE)],
        help_text="The amount off, or the percentage (at most 100).",
    )
    ticket_types = models.ManyToManyField(
        TicketType, blank=True, related_name="+", help_text="Only these types; none: every type."
    )
    showtimes = models.ManyToManyField(
        Showtime, blank=True, related_name="+", help_text="Only these showtimes; none: every one."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    uses = models.PositiveIntegerField(
        default=0, editable=False, help_text="Bookings holding a use (given back on cancel)."
    )
    batch = models.CharField(max_length=60, blank=True, help_text="The batch it was made in.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value__gt=0, value__lte=MAX_TICKET_PRICE),
                name="voucher_value_in_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100),
                name="voucher_percent_at_most_100",
            ),
            models.CheckConstraint(condition=models.Q(max_uses__gte=1), name="voucher_max_uses"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        self.code = normalise_code(self.code)
        if not VOUCHER_CODE.fullmatch(self.code):
            raise ValidationError({"code": "Use 3 to 32 letters, digits or dashes."})
        if self.kind == self.Kind.PERCENT and self.value is not None and self.value > 100:
            raise ValidationError({"value": "A percentage is at most 100."})
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end must come after the start."})

    @property
    def label(self) -> str:
        """What it gives, as the buyer reads it: "10% off" or "5.00 off"."""
        if self.kind == self.Kind.PERCENT:
            return f"{self.value.normalize():f}% off"
        return f"{format_money(self.value)} off"


VOUCHER_CODE = re.compile(r"[A-Z0-9-]{3,32}")


def normalise_code(code: str) -> str:
    """Codes are read out and retyped: case and surrounding spaces do not matter."""
    return (code or "").strip().upper()


class Venue(models.Model):
    """The cinema as moviegoers find it: where it is, how to get there, access, how to reach it.
    One row, edited by staff in the admin; its address goes on the tickets, the calendar event
    and the emails. Its name is CINEMA_NAME, as the emails' sender."""

    SINGLE = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLE, editable=False)
    address = models.TextField(
        blank=True, help_text="As on an envelope, one line per line: street, town, postcode."
    )
    getting_here = models.TextField(
        "How to get here",
        blank=True,
        help_text="Public transport, parking, bikes. A blank line starts a new paragraph.",
    )
    accessibility = models.TextField(
        blank=True,
        help_text="Step-free access, wheelchair spaces, hearing loops, audio description, "
        "accessible toilets. A blank line starts a new paragraph.",
    )
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    box_office_hours = models.CharField(
        max_length=200, blank=True, help_text='For example "Daily 11:00 to the last show".'
    )

    class Meta:
        verbose_name = verbose_name_plural = "cinema page"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="venue_single_row"),
        ]

    def __str__(self) -> str:
        return settings.CINEMA_NAME

    @property
    def address_lines(self) -> list[str]:
        return [line.strip(" ,") for line in self.address.splitlines() if line.strip(" ,")]

    @property
    def address_line(self) -> str:
        """The address on one line, "12 High Street, Bristol BS1 4DJ"; "" when not given."""
        return ", ".join(self.address_lines)
