from django.apps import AppConfig


class SeatsConfig(AppConfig):
    name = "seats"
    verbose_name = "Seats"

    def ready(self):
        from audit.stream import events_caught_up
        from seats.broadcast import events_caught_up as tell_viewers_again

        events_caught_up.connect(tell_viewers_again, dispatch_uid="seats.caught_up")
