"""Errors as `application/problem+json` (RFC 9457): every refusal carries the domain's stable
`code` (infra.domain) beside its message; the status is the HTTP mapping's choice."""

from django.http import Http404, HttpRequest, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from infra.domain import DomainError, http_status

CONTENT_TYPE = "application/problem+json"
# Where each code is explained (a relative reference, resolved against the API's address).
TYPE_BASE = "/api/v1/docs#problem-"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many requests",
}


# ninja's own refusals (its CSRF check is a 403).
HTTP_ERROR_CODES = {403: "forbidden", 405: "method_not_allowed"}


def problem(status: int, code: str, detail: str, **extra) -> JsonResponse:
    body = {
        "type": f"{TYPE_BASE}{code}",
        "title": TITLES.get(status, "Refused"),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


def install(api) -> None:
    """The API's answer to each kind of refusal."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, error: DomainError):
        extra = {"conflicts": error.conflicts} if hasattr(error, "conflicts") else {}
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
        return problem(401, "not_signed_in", "Sign in, or send an API token.")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, error: Http404):
        return problem(404, "not_found", str(error) or "There is no such thing here.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError):
        code = HTTP_ERROR_CODES.get(error.status_code, "invalid_request")
        return problem(error.status_code, code, str(error))
