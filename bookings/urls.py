from django.urls import path

from bookings import views

app_name = "bookings"
urlpatterns = [
    path("showtimes/<int:showtime_id>/", views.showtime_detail, name="showtime"),
]
