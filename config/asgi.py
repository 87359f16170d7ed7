"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from audit.routing import websocket_urlpatterns as audit_websockets  # noqa: E402
from seats.routing import websocket_urlpatterns as seat_websockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked against ALLOWED_HOSTS; the user comes from the session cookie, never
        # from a token in the URL.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*seat_websockets, *audit_websockets]))
        ),
    }
)
