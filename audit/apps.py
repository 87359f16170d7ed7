import sys

from django.apps import AppConfig
from django.core.signals import got_request_exception


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from audit.feed import event_published as push_to_staff_feed
        from audit.stream import event_published

        event_published.connect(push_to_staff_feed, dispatch_uid="audit.staff_feed")
        got_request_exception.connect(record_view_error, dispatch_uid="audit.view_errors")


def record_view_error(sender, request=None, **kwargs) -> None:
    """An exception no view handled: record it (with the request id) as a system error."""
    from audit.services import record_error

    error = sys.exc_info()[1]
    if error is None:
        return
    record_error(
        "view",
        error,
        path=getattr(request, "path", ""),
        method=getattr(request, "method", ""),
    )
