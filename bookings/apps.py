from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from bookings.selectors import BookingSales
        from seats.seatmap import use_sale_source

        use_sale_source(BookingSales())
