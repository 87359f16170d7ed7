"""What every app's admin shares (config sits below the apps, so any of them may import it)."""

from django.contrib import admin


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that only a service or another form may write: staff look, nobody edits here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
