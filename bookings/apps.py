from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from django.db.models.signals import post_save

        from audit.stream import events_caught_up
        from bookings.services import waitlist, wheelchair
        from bookings.services.seat_changes import events_caught_up as tell_viewers_again
        from cinema.models import Auditorium, Showtime

        events_caught_up.connect(tell_viewers_again, dispatch_uid="bookings.caught_up")
        # cinema saves halls and showtimes without knowing of waiting lists...
        post_save.connect(
            waitlist.staff_changed_hall, sender=Auditorium, dispatch_uid="bookings.hall"
        )
        post_save.connect(
            waitlist.staff_changed_showtime, sender=Showtime, dispatch_uid="bookings.showtime"
        )
        # ... nor of the wheelchair spaces' release, told live.
        post_save.connect(
            wheelchair.staff_changed_showtime, sender=Showtime, dispatch_uid="bookings.wheelchair"
        )
