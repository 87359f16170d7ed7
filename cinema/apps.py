from django.apps import AppConfig


class CinemaConfig(AppConfig):
    name = "cinema"
    verbose_name = "Catalogue"
