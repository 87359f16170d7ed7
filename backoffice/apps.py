from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """Staff pages that combine apps, beside the model admin: live holds, sales, waiting rooms,
    the audit feed and the system page, and the auditorium layout's preview."""

    name = "backoffice"
    verbose_name = "Back office"

    def ready(self):
        from django.conf import settings
        from django.contrib import admin

        # The cinema's name on every staff page (the tab, the header), not Django's.
        admin.site.site_header = f"{settings.CINEMA_NAME} back office"
        admin.site.site_title = f"{settings.CINEMA_NAME} back office"
        admin.site.index_title = "Home"
