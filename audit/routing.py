from django.urls import path

from audit.consumers import AuditFeedConsumer

websocket_urlpatterns = [
    path("ws/staff/audit/", AuditFeedConsumer.as_asgi()),
]
