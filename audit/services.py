"""`record()`: the one way an audit event is written."""

import logging
import math
from collections.abc import Iterable

from audit.models import AuditEvent
from audit.stream import publish_after_commit
from infra.edge import CONTROL_IN_TEXT
from infra.requestid import current_request_id

log = logging.getLogger(__name__)

Kind = AuditEvent.Kind


def record(
    kind: str,
    *,
    actor=None,
    showtime_id: int | None = None,
    booking_ref: str = "",
    seats: Iterable[str] = (),
    detail: dict | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Write the event inside the caller's transaction; append it to the stream after commit.

    If the caller's change rolls back, so does its event. `actor` is a user or None (the system);
    `detail` must be JSON-serialisable plain data.
    """
    event = AuditEvent.objects.create(
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        showtime_id=showtime_id,
        booking_ref=booking_ref,
        seats=list(seats),
        detail=detail or {},
        request_id=request_id if request_id is not None else current_request_id(),
    )
    publish_after_commit(event)
    return event


def _printable(text: str) -> str:
    """`text` with unpaired surrogates and control characters written as escapes (`\\x00`)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    # NUL above all, which PostgreSQL cannot store.
    return CONTROL_IN_TEXT.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _storable(value):
    """`value` as JSON that any database stores: what an error carries is anybody's input."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {_printable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return _printable(str(value))


def record_error(where: str, error: BaseException, **context) -> AuditEvent | None:
    """Record an unexpected exception as a system error; never raises (it runs on error paths)."""
    try:
        return record(
            Kind.SYSTEM_ERROR,
            detail=_storable(
                {
                    "where": where,
                    "error": type(error).__name__,
                    "message": str(error)[:500],
                    **context,
                }
            ),
        )
    except Exception:
        log.exception("could not record a system error from %s", where)
        return None
