"""`/health`: is this web node able to serve? For the load balancer and the image's health check.

200 when this node reaches the database and Redis, 503 otherwise (audit.health says how it is
decided). A busy node is a healthy one: every pooled connection in use is the database answering,
so it keeps the node in rotation. The checks answer well within the health check's own timeout
(5 s in the image) even when the database or Redis swallows packets.
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from audit.health import report


@never_cache
def health(request):
    healthy, body = report()
    return JsonResponse(body, status=200 if healthy else 503)
