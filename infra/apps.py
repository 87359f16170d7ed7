from django.apps import AppConfig


class InfraConfig(AppConfig):
    """What every app stands on (Redis, WebSocket sending, the edge's limits, request ids,
    caching, CSP, logging, the error policy); it imports no app."""

    name = "infra"
    verbose_name = "Infrastructure"

    def ready(self) -> None:
        from django.core.signals import got_request_exception

        from infra.errors import report_request_error

        got_request_exception.connect(report_request_error, dispatch_uid="infra.request_errors")
