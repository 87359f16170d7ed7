"""What a receiver hears of the audit trail: which events become which webhook types, and what
each one says.

Events carry plain data, so a webhook is read off its event (and, for a sell-out, one query):
- booking.confirmed: BOOKING_CONFIRMED.
- booking.refunded: tickets refunded, SEATS_RELEASED with its `refund`. It is recorded once per
  refund, in the transaction that voids the tickets and frees their seats, which is when the
  receiver must stop honouring them; the gateway pays the money back after it (REFUND_SENT, or
  the sweeper's retry), so that step is not a second webhook.
- booking.cancelled: a booking ends unused: a hold its buyer cancels or staff release
  (SEATS_RELEASED, reasons CANCELLED_BY), or a confirmed booking refunded in full (sent after its
  booking.refunded). A hold that runs out (HOLD_EXPIRED), one ended because sales stopped, and a
  late payment sent back (PAYMENT_REFUNDED) are expiries of bookings never confirmed: not sent.
- showtime.sold_out: a confirmation after which every seat on offer has a ticket (a held seat
  still counts as free: its hold may lapse); once per showtime and receiver (a constraint).
- showtime.changed: staff changed the showtime (SHOWTIME_CHANGED) or gave it another price list
  (PRICES_CHANGED of the showtime). A price list's own prices edited is not sent: that event
  names no showtime, and every showtime on the list would be owed one.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef

from audit.models import AuditEvent
from bookings.models import Ticket
from cinema.models import Seat
from webhooks.models import EventType

Kind = AuditEvent.Kind

# The audit kinds each webhook type is read from (the database look asks for these only).
SOURCES = {
    EventType.BOOKING_CONFIRMED: {Kind.BOOKING_CONFIRMED},
    EventType.BOOKING_REFUNDED: {Kind.SEATS_RELEASED},
    EventType.BOOKING_CANCELLED: {Kind.SEATS_RELEASED},
    EventType.SHOWTIME_SOLD_OUT: {Kind.BOOKING_CONFIRMED},
    EventType.SHOWTIME_CHANGED: {Kind.SHOWTIME_CHANGED, Kind.PRICES_CHANGED},
}
# The reasons bookings.services.refunds gives a released hold that was cancelled, not expired.
CANCELLED_BY = {"cancelled", "released by staff"}
# Facts of the booking its events carry (bookings.services.records.booking_facts).
BOOKING_FACTS = ("movie", "auditorium", "starts_at")


@dataclass(frozen=True)
class Outgoing:
    type: str
    subject: str  # the booking or showtime: one subject's webhooks go out in order
    data: dict


def source_kinds(types) -> set[str]:
    """The audit kinds the types are read from (a name that is no type, none)."""
    return set().union(*(SOURCES.get(name, set()) for name in types))


def outgoing(event: dict, *, wanted: set[str]) -> list[Outgoing]:
    """The webhooks of the `wanted` types an event (`AuditEvent.as_message()`) makes, in the
    order they are to be sent."""
    kind, detail = event["kind"], event["detail"]
    found = []
    if kind == Kind.BOOKING_CONFIRMED:
        found.append(_booking(EventType.BOOKING_CONFIRMED, event, **_paid(detail)))
        if EventType.SHOWTIME_SOLD_OUT in wanted and sold_out(showtime_id=event["showtime_id"]):
            facts = {key: detail[key] for key in ("movie", "starts_at") if key in detail}
            found.append(_showtime(EventType.SHOWTIME_SOLD_OUT, event, **facts))
    elif kind == Kind.SEATS_RELEASED and event["booking_ref"]:
        if detail.get("refund"):
            partial = bool(detail.get("partial"))
            status = "confirmed" if partial else "cancelled"
            found.append(
                _booking(
                    EventType.BOOKING_REFUNDED,
                    event,
                    status=status,
                    refund=detail["refund"],
                    partial=partial,
                    **_paid(detail),
                )
            )
            if not partial:
                found.append(_booking(EventType.BOOKING_CANCELLED, event, refunded=True))
        elif detail.get("reason") in CANCELLED_BY:
            found.append(_booking(EventType.BOOKING_CANCELLED, event, refunded=False))
    elif kind in (Kind.SHOWTIME_CHANGED, Kind.PRICES_CHANGED) and event["showtime_id"]:
        found.append(_changed(event))
    return [item for item in found if item.type in wanted]


def sold_out(*, showtime_id: int) -> bool:
    """Whether every seat of the showtime ever offered has a ticket (one query)."""
    unsold = Seat.objects.filter(auditorium__showtimes=showtime_id, blocked=False).exclude(
        Exists(Ticket.objects.filter(showtime_id=showtime_id, seat=OuterRef("pk")))
    )
    return not unsold.exists()


def _booking(type: str, event: dict, **data) -> Outgoing:
    detail = event["detail"]
    return Outgoing(
        type=type,
        subject=f"booking:{event['booking_ref']}",
        data={
            "booking": event["booking_ref"],
            "showtime": event["showtime_id"],
            "seats": event["seats"],
            **{key: detail[key] for key in BOOKING_FACTS if key in detail},
            "status": "cancelled" if type == EventType.BOOKING_CANCELLED else "confirmed",
            **data,
        },
    )


def _showtime(type: str, event: dict, **data) -> Outgoing:
    return Outgoing(
        type=type,
        subject=f"showtime:{event['showtime_id']}",
        data={"showtime": event["showtime_id"], **data},
    )


def _changed(event: dict) -> Outgoing:
    """showtime.changed: what changed, as it is now and as it was."""
    detail = event["detail"]
    if event["kind"] == Kind.PRICES_CHANGED:
        now, was = {"price_list": detail.get("price_list")}, {"price_list": detail.get("was")}
    else:
        now = {key: detail.get(key) for key in detail.get("changed", [])}
        was = detail.get("was", {})
    return _showtime(EventType.SHOWTIME_CHANGED, event, changed=sorted(now), **now, previous=was)


def _paid(detail: dict) -> dict:
    """The amount an event names (paid, or refunded), in the cinema's currency."""
    if "amount" not in detail:
        return {}
    return {"amount": detail["amount"], "currency": settings.CURRENCY}
