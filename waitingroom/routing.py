from django.urls import path

from waitingroom.consumers import QueueConsumer

websocket_urlpatterns = [
    path("ws/queue/<int:showtime_id>/", QueueConsumer.as_asgi()),
]
