from django.apps import AppConfig


class CinemaConfig(AppConfig):
    name = "cinema"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from cinema import signals

        signals.connect()
