"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth.

Both go through the limits of infra.limits first; WebSockets through infra.origins before that.
With QUEUE_AT_THE_EDGE, a queued member's visit to the waiting room is answered before Django
(waitingroom.edge).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.core.asgi import get_asgi_application
from granian.utils.proxies import wrap_asgi_with_proxy_headers

django_asgi_app = get_asgi_application()

from audit.routing import websocket_urlpatterns as audit_websockets  # noqa: E402
from infra.limits import (  # noqa: E402
    Admission,
    EventStreamLimits,
    RequestBodyLimit,
    WebSocketLimits,
    limit_daphne_header_time,
    limit_daphne_request_bodies,
    limit_uvicorn_header_time,
)
from infra.metrics import CountResponses  # noqa: E402
from infra.origins import OriginCheck  # noqa: E402
from seats.routing import websocket_urlpatterns as seat_websockets  # noqa: E402
from waitingroom.edge import QueueAtTheEdge  # noqa: E402
from waitingroom.routing import websocket_urlpatterns as queue_websockets  # noqa: E402

limit_daphne_request_bodies()
limit_daphne_header_time()
limit_uvicorn_header_time()

django_http = QueueAtTheEdge(django_asgi_app) if settings.QUEUE_AT_THE_EDGE else django_asgi_app

# Every response and connection counted (infra.metrics), the edge's refusals included.
application = CountResponses(
    ProtocolTypeRouter(
        {
            # Admission first: a request this process has no room for costs nothing more.
            # The queue's joins in their lane, stamped on arrival.
            "http": Admission(EventStreamLimits(RequestBodyLimit(django_http))),
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

# Behind the balancer under granian (config.servers), which has no option to read them: the
# client's address and scheme from X-Forwarded-For/-Proto, as daphne --proxy-headers does.
proxied_application = wrap_asgi_with_proxy_headers(application, trusted_hosts="*")
