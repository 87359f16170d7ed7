from django.apps import AppConfig


class SeatsConfig(AppConfig):
    name = "seats"
    verbose_name = "Seats"

    def ready(self) -> None:
        from audit.stream import event_published
        from seats.broadcast import audit_event_published

        event_published.connect(audit_event_published, dispatch_uid="seats.staff_feed")
