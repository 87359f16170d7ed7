from django.apps import AppConfig
from django.db.models.signals import post_save


class WaitingRoomConfig(AppConfig):
    name = "waitingroom"
    verbose_name = "Waiting room"

    def ready(self):
        from cinema.models import Showtime

        post_save.connect(_scheduled, sender=Showtime, dispatch_uid="waitingroom.scheduled")


def _scheduled(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """cinema schedules showtimes without knowing of waiting rooms: a high-demand film's new
    showtime gets its room on here."""
    if created and not raw:
        from waitingroom.services import open_for_high_demand

        open_for_high_demand(showtime=instance)
