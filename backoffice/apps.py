from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """Staff pages that combine apps, beside the model admin: live holds, sales, waiting rooms,
    the audit feed and the system page, and the auditorium layout's preview."""

    name = "backoffice"
    verbose_name = "Back office"
