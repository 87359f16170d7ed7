from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from audit.stream import events_caught_up
        from bookings.services.seat_changes import events_caught_up as tell_viewers_again

        events_caught_up.connect(tell_viewers_again, dispatch_uid="bookings.caught_up")
