"""The few ways a booking request can fail, each with a message for the moviegoer.

Views map them to HTTP status codes in one place (`bookings/views.py`).
"""


class BookingError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidRequest(BookingError):
    """The request itself is wrong: unknown seats, duplicates, too many."""

    status = 400


class PaymentFailed(BookingError):
    """The gateway declined; the booking stays PENDING so the user can retry."""

    status = 402


class SeatsUnavailable(BookingError):
    """Some seats are held by someone else or sold; `conflicts` names them."""

    status = 409

    def __init__(self, message: str, *, conflicts: list[str]):
        super().__init__(message)
        self.conflicts = conflicts


class HoldLost(BookingError):
    """The hold ran out before the action; nothing was charged."""

    status = 409


class BookingClosed(BookingError):
    """The booking or showtime is past the point where this action is possible."""

    status = 409


class PriceChanged(BookingClosed):
    """The total is not the one the buyer was shown: nothing is charged, they look again."""


class SalesEnded(BookingClosed):
    """Sales stopped or the showtime started while the booking waited for payment."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class HoldLimitReached(BookingError):
    """The account already holds as many seats, or open bookings, as one account may."""

    status = 409


class VerificationRequired(BookingError):
    """Holding seats needs a confirmed email address (or Google sign-in)."""

    status = 403


class WaitingRoomRequired(BookingError):
    """The showtime sells through its waiting room and this shopper has not been let in."""

    status = 403

    def __init__(self, message: str, *, queue_url: str):
        super().__init__(message)
        self.queue_url = queue_url


class RateLimited(BookingError):
    status = 429


class UnknownPayment(BookingError):
    """A gateway event names a payment this site never started."""

    status = 400
