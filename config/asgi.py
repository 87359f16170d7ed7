"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth.

Both go through the limits of infra.limits first; WebSockets through infra.origins before that.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from audit.routing import websocket_urlpatterns as audit_websockets  # noqa: E402
from infra.limits import (  # noqa: E402
    Admission,
    EventStreamLimits,
    RequestBodyLimit,
    WebSocketLimits,
    limit_daphne_header_time,
    limit_daphne_request_bodies,
)
from infra.metrics import CountResponses  # noqa: E402
from infra.origins import OriginCheck  # noqa: E402
from seats.routing import websocket_urlpatterns as seat_websockets  # noqa: E402
from waitingroom.routing import websocket_urlpatterns as queue_websockets  # noqa: E402

limit_daphne_request_bodies()
limit_daphne_header_time()

# Every response and connection counted (infra.metrics), the edge's refusals included.
application = CountResponses(
    ProtocolTypeRouter(
        {
            # Admission first: a request this process has no room for costs nothing more.
            "http": Admission(EventStreamLimits(RequestBodyLimit(django_asgi_app))),
            # The user comes from the session cookie, never from a token in the URL.
            "websocket": OriginCheck(
                WebSocketLimits(
                    AuthMiddlewareStack(
                        URLRouter([*seat_websockets, *queue_websockets, *audit_websockets])
                    )
                )
            ),
        }
    )
)
