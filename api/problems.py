"""Errors as `application/problem+json` (RFC 9457): every refusal carries the domain's stable
`code` (infra.domain) beside its message; the status is the HTTP mapping's choice."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from ninja.errors import AuthenticationError, HttpError, ValidationError

from infra.domain import DomainError, http_status
from infra.problems import problem

# Every code the API answers with, and what it means (`codes_page` lists them: each
# problem's `type` points there).
CODES = {
    "invalid_request": "The request is not valid: `errors` says where, `detail` what.",
    "not_signed_in": "Sign in (the session) or send an API token.",
    "token_refused": "The API token is not known, was revoked or has expired.",
    "forbidden": "Not yours to do: the token lacks the scope, your role the permission, or "
    "the session's POST its CSRF token.",
    "not_found": "No such thing here, or not yours (another customer's booking).",
    "method_not_allowed": "This address does not take that method.",
    "verification_required": "Confirm your email address first: a link has been sent.",
    "waiting_room_required": "This showtime's waiting room is on: queue and send its pass.",
    "seats_unavailable": "Some seats are held or sold: `conflicts` names them. When you chose "
    "the seats, `offer` (if present) is the nearest block like them that is free now, not held: "
    "`seats`, `category` and `price` each (or null); hold it as any seats.",
    "lone_seat": "The seats would leave one free seat alone between them and a taken seat: "
    "`detail` names it; pick it too or move along.",
    "kept_for_wheelchair_users": "Wheelchair spaces and companion seats are kept for wheelchair "
    "users until the showtime's `wheelchair_release_at`: say `wheelchair`, and hold a companion "
    "seat with its space. `conflicts` names them.",
    "device_unavailable": "Every access device of that kind is lent for this showtime.",
    "already_waiting": "You are on this showtime's waiting list already (one place per account).",
    "seats_available": "The seats asked for can be picked now: a waiting list is for a sold-out "
    "showtime.",
    "not_waiting": "You have no place on this showtime's waiting list.",
    "transfer_refused": "These tickets cannot be passed on: checked in, passed on already, or to "
    "yourself.",
    "transfer_limit_reached": "The ticket has changed hands, or you have passed tickets of this "
    "showtime on, as often as one may.",
    "not_the_receiver": "Passed-on tickets are claimed by the account with the email address they "
    "were sent to, once confirmed.",
    "hold_lost": "Your hold ran out or was released: hold the seats again.",
    "hold_limit_reached": "You hold or bought as many seats as one customer may.",
    "booking_closed": "The booking can no longer change this way (paid, cancelled, expired, or "
    "past the refund cut-off).",
    "price_changed": "The total is not the one you showed the buyer: show the new one.",
    "sales_ended": "Sales for this showtime have closed.",
    "change_answered": "The choice offered when the screening changed is made already, or the "
    "booking has moved on since.",
    "no_same_access": "No other screening of the film with the same access has the seats: the "
    "full refund is still offered.",
    "not_for_sale": "This showtime is not on sale (yet).",
    "voucher_refused": "The voucher cannot be used now: expired, used up or for another show.",
    "payment_failed": "The payment provider declined or could not be reached.",
    "rate_limited": "Too many requests: wait the `Retry-After` seconds.",
    "idempotency_key_reused": "This Idempotency-Key came with another request: use a new key.",
    "idempotency_key_in_use": "The first request with this Idempotency-Key is still running.",
}


# ninja's own refusals (its CSRF check is a 403).
HTTP_ERROR_CODES = {403: "forbidden", 405: "method_not_allowed"}


def install(api) -> None:
    """The API's answer to each kind of refusal."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, error: DomainError):
        extra = {"conflicts": error.conflicts} if hasattr(error, "conflicts") else {}
        if offer := getattr(error, "offer", None):
            price = None if offer.price is None else str(offer.price)
            extra["offer"] = {"seats": offer.labels, "category": offer.category, "price": price}
        response = problem(http_status(error), error.code, error.message, **extra)
        if hasattr(error, "wait"):
            response["Retry-After"] = str(error.wait)
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, error: ValidationError):
        errors = [
            {"where": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg")}
            for e in error.errors[:20]
        ]
        return problem(400, "invalid_request", "The request is not valid.", errors=errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error: AuthenticationError):
        if hasattr(error, "code"):  # a token refused, with its reason
            return problem(401, error.code, str(error))
        return problem(401, "not_signed_in", "Sign in, or send an API token.")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, error: Http404):
        return problem(404, "not_found", str(error) or "There is no such thing here.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError):
        code = HTTP_ERROR_CODES.get(error.status_code, "invalid_request")
        return problem(error.status_code, code, str(error))


def codes_page(request: HttpRequest) -> HttpResponse:
    """The page each problem's `type` points into: one anchor per code."""
    rows = format_html_join(
        "\n", '<dt id="{}"><code>{}</code></dt><dd>{}</dd>', ((c, c, m) for c, m in CODES.items())
    )
    page = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Marquee API: problem codes</title></head><body><main>"
        "<h1>Problem codes</h1><p>Every refusal of the API is <code>application/problem+json"
        "</code> with one of these <code>code</code>s.</p><dl>{}</dl></main></body></html>",
        rows,
    )
    return HttpResponse(page)
