"""The home page's search and filters, read from the query string."""

from django import forms

from cinema.models import Voucher

SEARCH_MAX_LENGTH = 100
FORMAT_CHOICES = [
    ("2d", "2D"),
    ("3d", "3D"),
    ("imax", "IMAX"),
    ("subtitled", "Subtitled"),
    ("audio-described", "Audio described"),
]


class BrowseForm(forms.Form):
    """Each field stands alone: a bad value in one is dropped with a note, the rest still apply."""

    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    q = forms.CharField(required=False)
    format = forms.MultipleChoiceField(required=False, choices=FORMAT_CHOICES)

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
