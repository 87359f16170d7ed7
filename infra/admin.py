"""What every app's admin shares (config sits below the apps, so any of them may import it)."""

from django import forms
from django.contrib import admin


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that only a service or another form may write: staff look, nobody edits here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RowLabelledForm(forms.ModelForm):
    """A row of a changelist's editable columns: each input named for a screen reader by its
    column and its row ("Position of Adult"), as the table shows them to the eye."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # The admin wraps a related field's widget; its own attrs are the rendered ones.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs["aria-label"] = f"{field.label} of {self.instance}"
