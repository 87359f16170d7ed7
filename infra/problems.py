"""Refusals as `application/problem+json` (RFC 9457), the JSON API's form: a stable `code` (what
clients match on) beside a `detail` for people. The API (api.problems) answers every refusal of
its own this way, and so do the layers below it for a request to the API (infra.edge), so that
an API client never has to read a page."""

from django.http import JsonResponse

CONTENT_TYPE = "application/problem+json"
# The JSON API's addresses: refusals there are problems.
API_PREFIX = "/api/"
# Where each code is explained (a relative reference, resolved against the API's address).
TYPE_BASE = "/api/v1/problems#"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
    503: "Busy",
}


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
