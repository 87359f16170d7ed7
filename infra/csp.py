"""Content-Security-Policy on every response, with a fresh script nonce per request.

Templates put the nonce on any inline script: `<script nonce="{{ request.csp_nonce }}">`.
"""

import secrets

from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

NONCE = "'nonce'"


def build_policy(nonce: str) -> str:
    """The header value of settings.CONTENT_SECURITY_POLICY with this request's nonce."""
    return "; ".join(
        " ".join([directive, *(f"'nonce-{nonce}'" if s == NONCE else s for s in sources)])
        for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
    )


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_request(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)

    def process_response(self, request, response):
        # Django's own debug pages (DEBUG only) are made of inline styles and scripts.
        if settings.DEBUG and response.status_code in {404, 500}:
            return response
        response.setdefault("Content-Security-Policy", build_policy(request.csp_nonce))
        return response
