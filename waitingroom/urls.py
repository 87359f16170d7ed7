from django.urls import path

from waitingroom import views

app_name = "waitingroom"
urlpatterns = [
    path("showtimes/<int:showtime_id>/queue/", views.queue_page, name="queue"),
]
