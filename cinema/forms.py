"""The home page's search and filters, read from the query string."""

from django import forms

from cinema.models import Showtime, Voucher

SEARCH_MAX_LENGTH = 100
FORMAT_CHOICES = [("2d", "2D"), ("3d", "3D"), ("imax", "IMAX")]
# The values are cinema.selectors.KIND_FILTERS; the labels are what the page and its
# removable "chosen" chips say.
KIND_CHOICES = [
    ("subtitled", "Subtitled"),
    ("audio-described", "Audio described"),
    ("relaxed", "Relaxed"),
    ("wheelchair", "Wheelchair space free"),
]


class FilterForm(forms.Form):
    """The listings' filters (home and film pages), read from the query string. Each field
    stands alone: a bad value in one is dropped with a note, the rest still apply."""

    format = forms.MultipleChoiceField(required=False, choices=FORMAT_CHOICES)
    kind = forms.MultipleChoiceField(required=False, choices=KIND_CHOICES)

    def notes(self) -> list[str]:
        """What was left out, for the page to say so."""
        return [
            f"That {name} filter isn't one we know, so it was left out."
            for name in ("format", "kind")
            if name in self.errors
        ]

    def chosen(self) -> list[tuple[str, str, str]]:
        """Each filter applied, as (field, value, label), in the order the form lists them."""
        cleaned = getattr(self, "cleaned_data", {})
        return [
            (name, value, label)
            for name, choices in (("format", FORMAT_CHOICES), ("kind", KIND_CHOICES))
            for value, label in choices
            if value in cleaned.get(name, [])
        ]


class BrowseForm(FilterForm):
    """The home page's day and title search, with the filters."""

    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    q = forms.CharField(required=False)

    def clean_q(self) -> str:
        # Longer input is cut, not refused: a title search never needs more.
        return self.cleaned_data["q"][:SEARCH_MAX_LENGTH]


class VoucherBatchForm(forms.ModelForm):
    """A batch of codes alike: what each gives, when, how often, and for what."""

    count = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=50,
        help_text="How many codes to make (at most 1,000 at a time).",
    )
    prefix = forms.RegexField(
        regex=r"^[A-Za-z0-9]{2,10}$",
        help_text="2 to 10 letters or digits that start every code, e.g. SPRING.",
        error_messages={"invalid": "Use 2 to 10 letters or digits."},
    )

    class Meta:
        model = Voucher
        fields = [
            "batch",
            "kind",
            "value",
            "max_uses",
            "valid_from",
            "valid_until",
            "ticket_types",
            "showtimes",
        ]
        help_texts = {"max_uses": "Uses per code.", "batch": "A name to find the batch by."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].required = True

    def clean_prefix(self) -> str:
        return self.cleaned_data["prefix"].upper()

    def _post_clean(self) -> None:
        # The instance is only a template for the codes: it is checked but never saved, so its
        # own (empty) code is not validated.
        self.instance.code = f"{self.cleaned_data.get('prefix', 'XX')}-TEMPLATE"
        super()._post_clean()


KEEP = [("", "Leave as it is"), ("yes", "Yes"), ("no", "No")]
FLAG_KINDS = ("open_captions", "audio_described", "relaxed", "parent_and_baby", "seniors")
TEXT_KINDS = ("audio_language", "subtitle_language", "access_notes")


class ScreeningKindsForm(forms.Form):
    """Screening kinds for many showtimes at once: only what is chosen changes, so marking a
    batch "relaxed" keeps each one's subtitles."""

    clear = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (name, Showtime._meta.get_field(name).verbose_name.capitalize()) for name in TEXT_KINDS
        ],
        label="Clear",
        help_text="Blank these on every selected showtime.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in TEXT_KINDS:
            field = Showtime._meta.get_field(name)
            self.fields[name] = forms.CharField(
                required=False,
                max_length=field.max_length,
                label=field.verbose_name.capitalize(),
                help_text="Blank: leave as it is.",
            )
        for name in FLAG_KINDS:
            self.fields[name] = forms.ChoiceField(
                required=False,
                choices=KEEP,
                label=Showtime._meta.get_field(name).verbose_name.capitalize(),
            )
        self.order_fields([*TEXT_KINDS, "clear", *FLAG_KINDS])

    def clean(self):
        cleaned = super().clean()
        both = [name for name in cleaned.get("clear", []) if cleaned.get(name, "").strip()]
        for name in both:
            self.add_error(name, "Either type it or clear it, not both.")
        if not self.errors and not self.changes():
            raise forms.ValidationError("Choose at least one thing to change.")
        return cleaned

    def changes(self) -> dict:
        """The fields to set, with their values (what the form leaves alone is not here)."""
        cleaned = self.cleaned_data
        changes = {name: "" for name in cleaned.get("clear", [])}
        for name in TEXT_KINDS:
            if cleaned.get(name, "").strip():
                changes[name] = cleaned[name].strip()
        for name in FLAG_KINDS:
            if cleaned.get(name):
                changes[name] = cleaned[name] == "yes"
        return changes
