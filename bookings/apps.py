from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from django.db.models.signals import post_save

        from audit.stream import events_caught_up
        from bookings.services.seat_changes import events_caught_up as tell_viewers_again
        from bookings.services.waitlist import staff_changed_hall, staff_changed_showtime
        from cinema.models import Auditorium, Showtime

        events_caught_up.connect(tell_viewers_again, dispatch_uid="bookings.caught_up")
        # cinema saves halls and showtimes without knowing of waiting lists.
        post_save.connect(staff_changed_hall, sender=Auditorium, dispatch_uid="bookings.hall")
        post_save.connect(staff_changed_showtime, sender=Showtime, dispatch_uid="bookings.showtime")
