"""WebSocket handshakes only from the site's own origins, compared in full: scheme, host and port.

The site's origins are SITE_URL and CSRF_TRUSTED_ORIGINS (`https://*.example.com` covers the
subdomains, as it does for form posts). With DEBUG on, the address the socket was opened at (its
Host header, over http, or https for wss) counts too, so any local port works. Never with DEBUG
off: daphne does not say whether the browser used TLS in front of a proxy, so a page served over
plain http on the same host would pass for the site.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

from infra.limits import scope_header

DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginCheck:
    """Refuse the handshake (403) unless the Origin header is one of the site's origins."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if allowed_origin(scope):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def allowed_origin(scope) -> bool:
    origin = _parse(scope_header(scope, b"origin"))
    if origin is None:
        return False
    trusted = [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS]
    if settings.DEBUG:
        trusted.append(_own_origin(scope))
    scheme, host, port = origin
    for candidate in filter(None, map(_parse, trusted)):
        if candidate[0] == scheme and candidate[2] == port:
            pattern = candidate[1]
            if host == pattern or (pattern.startswith("*.") and is_same_domain(host, pattern[1:])):
                return True
    return False


def _own_origin(scope) -> str:
    host = scope_header(scope, b"host")
    domain, _ = split_domain_port(host)
    # Django's own rule for the Host header (DEBUG with ALLOWED_HOSTS empty means local only).
    if not validate_host(domain, settings.ALLOWED_HOSTS or [".localhost", "127.0.0.1", "[::1]"]):
        return ""
    return f"{'https' if scope.get('scheme') == 'wss' else 'http'}://{host}"


def _parse(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in, or None for anything else."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port
