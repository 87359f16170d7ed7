from django.urls import path

from seats.consumers import SeatMapConsumer

websocket_urlpatterns = [
    path("ws/showtimes/<int:showtime_id>/", SeatMapConsumer.as_asgi()),
]
