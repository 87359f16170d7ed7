from django.urls import path

from checkin import views

app_name = "checkin"
urlpatterns = [
    path("checkin/", views.index, name="index"),
    path("checkin/sw.js", views.service_worker, name="service_worker"),
    path("checkin/<int:showtime_id>/", views.door, name="door"),
    path("checkin/<int:showtime_id>/scan/", views.scan, name="scan"),
    path("checkin/<int:showtime_id>/tickets.json", views.ticket_list, name="ticket_list"),
    path("checkin/<int:showtime_id>/counts.json", views.counts, name="counts"),
    path("checkin/<int:showtime_id>/undo/", views.undo, name="undo"),
    path("checkin/<int:showtime_id>/devices/return/", views.return_device, name="return_device"),
    path("checkin/<int:showtime_id>/sync/", views.sync, name="sync"),
]
