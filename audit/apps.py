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
    """An exception no view handled: a bug is recorded (with the request id) as a system error;
    the database or Redis not answering, or a full pool, is counted and logged instead."""
    from audit.services import record_error
    from config.errors import outage_kind
    from config.overload import count_overload

    error = sys.exc_info()[1]
    if error is None:
        return
    path, method = getattr(request, "path", ""), getattr(request, "method", "")
    if kind := outage_kind(error):
        # Not a row per request: in a rush or an outage every failing request would add a write
        # to a database that is already full or gone (the issue counted 7,125 in one on-sale).
        count_overload(kind, what=f"{method} {path}: {type(error).__name__}: {error}")
        return
    record_error("view", error, path=path, method=method)
