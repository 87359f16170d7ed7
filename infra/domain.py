"""The one vocabulary for a rule that says no: a domain error has a stable machine `code` (what
clients match on; the JSON API gives it) and a `message` for people. Which HTTP status a code
gets is the HTTP transports' choice, made here once (`http_status`), not the error's."""


class DomainError(Exception):
    code = "invalid_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Every code's HTTP status; a code not listed is a 400.
HTTP_STATUS = {
    "invalid_request": 400,
    "unknown_payment": 400,
    "bad_webhook": 400,
    "bad_upload": 400,
    "invalid_room_change": 400,
    "payment_failed": 402,
    "verification_required": 403,
    "waiting_room_required": 403,
    "seats_unavailable": 409,
    "lone_seat": 409,
    "kept_for_wheelchair_users": 409,
    "device_unavailable": 409,
    "hold_lost": 409,
    "hold_limit_reached": 409,
    "booking_closed": 409,
    "price_changed": 409,
    "sales_ended": 409,
    "change_answered": 409,
    "no_same_access": 409,
    "voucher_refused": 409,
    "not_for_sale": 409,
    "already_waiting": 409,
    "seats_available": 409,
    "not_waiting": 409,
    "transfer_refused": 409,
    "transfer_limit_reached": 409,
    "not_the_receiver": 403,
    "rate_limited": 429,
}


def http_status(error: DomainError) -> int:
    return HTTP_STATUS.get(error.code, 400)
