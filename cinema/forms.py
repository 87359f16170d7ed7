"""The home page's search and filters, read from the query string."""

from django import forms

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
