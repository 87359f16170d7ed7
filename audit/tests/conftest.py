import pytest

from audit.models import AuditEvent
from audit.notifier import Notifier


def kinds(booking_ref: str = "", **filters) -> list[str]:
    """The kinds recorded for a booking (or any filter), oldest first."""
    if booking_ref:
        filters["booking_ref"] = booking_ref
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def notifier():
    """A notifier that never waits on the stream, so a pass returns at once."""
    return Notifier(consumer="test-a", block_ms=1, min_idle_ms=60_000)
