"""The booking lifecycle, as services by verb: holding, paying (and settling what the gateway
says), refunds, expiry, tickets after their sale (reissued, passed on to someone else),
exchanging a paid booking, and a sold-out showtime's waiting list, around `seat_changes`, the
one module that owns what happens when seats change.

PENDING (seats held in Redis) -> CONFIRMED (paid) | CANCELLED (user or staff) | EXPIRED (timeout);
CONFIRMED -> EXCHANGED when the booking that replaces it (`exchanging`) is confirmed.
Redis decides who may pay; the UNIQUE (showtime, seat) constraint on Ticket decides, finally,
who gets a seat. Every function leaves either the whole change or nothing, and records its audit
event in the same transaction as the change. What the other apps and the pages call is named
here.
"""

from bookings.services.devices import (
    LIVE_BOOKING,
    add_device,
    devices_left,
    remove_device,
    return_device,
)
from bookings.services.exchanging import (
    check_exchangeable,
    confirm_exchange,
    exchange_difference,
    exchange_showtimes,
    start_exchange,
)
from bookings.services.expiry import announce_lapsed_holds, expire_booking, expire_stale_bookings
from bookings.services.holding import BestSeats, extend_hold, hold_seats, suggest_best_seats
from bookings.services.paying import (
    PAYMENT_SESSION_LIFETIME,
    Return,
    gateway_says_paid,
    open_payment,
    payment_return,
    start_payment,
)
from bookings.services.refunds import (
    cancel_booking,
    refund_tickets,
    refunds_close_at,
    send_owed_refunds,
    send_refund,
    staff_cancel,
    staff_release_hold,
)
from bookings.services.rules import is_offer, seats_beside
from bookings.services.selling import paid_for
from bookings.services.settling import (
    BOOKING_CANCELLED,
    BOOKING_CHANGED,
    PAID_TWICE,
    SEATS_TAKEN,
    close_unreached,
    handle_payment_event,
    receive_webhook,
    reject_webhook,
    sync_payment,
)
from bookings.services.tickets import reissue_ticket
from bookings.services.transfers import cancel_transfer, claim_transfer, pass_on_tickets
from bookings.services.waitlist import (
    join_waitlist,
    leave_waitlist,
    offer_freed_seats,
    offer_waiting_lists,
    pause_waitlist,
)
from bookings.services.wheelchair import release_wheelchair_places

__all__ = [
    "BOOKING_CANCELLED",
    "BOOKING_CHANGED",
    "LIVE_BOOKING",
    "PAID_TWICE",
    "PAYMENT_SESSION_LIFETIME",
    "SEATS_TAKEN",
    "BestSeats",
    "Return",
    "add_device",
    "announce_lapsed_holds",
    "cancel_booking",
    "cancel_transfer",
    "check_exchangeable",
    "claim_transfer",
    "close_unreached",
    "confirm_exchange",
    "devices_left",
    "exchange_difference",
    "exchange_showtimes",
    "expire_booking",
    "expire_stale_bookings",
    "extend_hold",
    "gateway_says_paid",
    "handle_payment_event",
    "hold_seats",
    "is_offer",
    "join_waitlist",
    "leave_waitlist",
    "offer_freed_seats",
    "offer_waiting_lists",
    "open_payment",
    "paid_for",
    "pass_on_tickets",
    "pause_waitlist",
    "payment_return",
    "receive_webhook",
    "refund_tickets",
    "refunds_close_at",
    "reissue_ticket",
    "reject_webhook",
    "release_wheelchair_places",
    "remove_device",
    "return_device",
    "seats_beside",
    "send_owed_refunds",
    "send_refund",
    "staff_cancel",
    "staff_release_hold",
    "start_exchange",
    "start_payment",
    "suggest_best_seats",
    "sync_payment",
]
