"""Refuse control characters in the path, the query string and form fields, before any view.

No page, seat label or booking ref contains one, and a NUL byte cannot even reach PostgreSQL:
it fails the query, and the error page's audit event with it. Tabs and line breaks are ordinary
text in query and form values; in a path they are as wrong as the rest.
"""

import re

from django.http import HttpResponseBadRequest

from infra.problems import API_PREFIX, problem

# Unicode category Cc: C0 controls, DEL and C1 controls.
_IN_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In text (form and query values, anything stored): the same, but tab and line breaks are text.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

MESSAGE = "Bad request: the address or a form field contains a control character (such as NUL)."


def _has_control(fields) -> bool:
    return any(
        CONTROL_IN_TEXT.search(key) or any(CONTROL_IN_TEXT.search(value) for value in values)
        for key, values in fields.lists()
    )


class RejectControlCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _IN_PATH.search(request.path) or _has_control(request.GET) or self._bad_form(request):
            if request.path.startswith(API_PREFIX):
                return problem(400, "invalid_request", MESSAGE)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _bad_form(request) -> bool:
        if request.method != "POST":
            return False
        try:
            form = request.POST
        except OSError:
            # The client went away mid-body; the view finds out the way it always would.
            return False
        return _has_control(form)
