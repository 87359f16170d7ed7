from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from audit.feed import event_published as push_to_staff_feed
        from audit.stream import event_published

        event_published.connect(push_to_staff_feed, dispatch_uid="audit.staff_feed")
