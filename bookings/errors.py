"""The few ways a booking request can fail, each with a stable code and a message for the
moviegoer (infra.domain: the transports choose the status)."""

from infra.domain import DomainError


class BookingError(DomainError):
    code = "invalid_request"


class InvalidRequest(BookingError):
    """The request itself is wrong: unknown seats, duplicates, too many."""

    code = "invalid_request"


class PaymentFailed(BookingError):
    """The gateway declined; the booking stays PENDING so the user can retry."""

    code = "payment_failed"


class SeatsUnavailable(BookingError):
    """Some seats are held by someone else or sold; `conflicts` names them. `offer`, when the
    buyer picked the seats, is the nearest block like them that is free (a
    bookings.services.BestSeats, not held), or None."""

    code = "seats_unavailable"

    def __init__(self, message: str, *, conflicts: list[str]):
        super().__init__(message)
        self.conflicts = conflicts
        self.offer = None


class LoneSeat(BookingError):
    """The selection would leave one free seat alone beside it, which nobody would buy."""

    code = "lone_seat"


class SeatsKeptBack(SeatsUnavailable):
    """Wheelchair spaces or companion seats, kept for wheelchair users until the showtime's
    release time, asked for by someone else or apart from their space; `conflicts` names them."""

    code = "kept_for_wheelchair_users"


class DeviceUnavailable(BookingError):
    """Every access device of that kind is lent for the showtime, or the hall has none."""

    code = "device_unavailable"


class HoldLost(BookingError):
    """The hold ran out before the action; nothing was charged."""

    code = "hold_lost"


class BookingClosed(BookingError):
    """The booking or showtime is past the point where this action is possible."""

    code = "booking_closed"


class PriceChanged(BookingClosed):
    """The total is not the one the buyer was shown: nothing is charged, they look again."""

    code = "price_changed"


class SalesEnded(BookingClosed):
    """Sales stopped or the showtime started while the booking waited for payment."""

    code = "sales_ended"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class ChangeAnswered(BookingClosed):
    """A screening-change link whose choice is made (this one or another), or whose booking has
    moved on since: it changes nothing more."""

    code = "change_answered"


class NoSameAccess(BookingClosed):
    """No other screening of the film with the same access has the seats to move to."""

    code = "no_same_access"


class HoldLimitReached(BookingError):
    """The account already holds as many seats, or open bookings, as one account may."""

    code = "hold_limit_reached"


class VerificationRequired(BookingError):
    """Holding seats needs a confirmed email address (or Google sign-in)."""

    code = "verification_required"


class WaitingRoomRequired(BookingError):
    """The showtime sells through its waiting room and this shopper has not been let in."""

    code = "waiting_room_required"


class AlreadyWaiting(BookingError):
    """The account is on the showtime's waiting list already (one entry per account)."""

    code = "already_waiting"


class SeatsAvailable(BookingError):
    """A waiting list is for a sold-out showtime: the seats asked for can be picked now."""

    code = "seats_available"


class NotWaiting(BookingError):
    """The account has no place on the showtime's waiting list to leave."""

    code = "not_waiting"


class TransferRefused(BookingError):
    """These tickets cannot be passed on: checked in already, passed on already, or to the
    sender themselves."""

    code = "transfer_refused"


class TransferLimitReached(BookingError):
    """The ticket has changed hands, or the account has passed tickets of the showtime on, as
    often as the limits allow (TRANSFERS_PER_TICKET, TRANSFERS_PER_ACCOUNT_PER_SHOWTIME)."""

    code = "transfer_limit_reached"


class NotTheReceiver(BookingError):
    """Passed-on tickets are claimed by the account with the address they were sent to."""

    code = "not_the_receiver"


class RateLimited(BookingError):
    """Too many of one action in a window; `wait` is the seconds until the next."""

    code = "rate_limited"

    def __init__(self, message: str, *, wait: int):
        super().__init__(message)
        self.wait = wait


class UnknownPayment(BookingError):
    """A gateway event names a payment this site never started."""

    code = "unknown_payment"


class BadWebhook(BookingError):
    """A gateway's event that is not one: unsigned, signed by another, too old, malformed."""

    code = "bad_webhook"


class ExchangeEnded(BookingClosed):
    """The paid booking an exchange would replace was cancelled, changed or closed meanwhile:
    the exchange ends and nothing is charged."""

    code = "exchange_ended"
