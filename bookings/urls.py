from django.urls import path

from bookings import change_views, views

app_name = "bookings"
urlpatterns = [
    path("showtimes/<int:showtime_id>/", views.showtime_detail, name="showtime"),
    path("showtimes/<int:showtime_id>/hold/", views.hold, name="hold"),
    path("showtimes/<int:showtime_id>/waitlist/", views.join_waitlist, name="join_waitlist"),
    path(
        "showtimes/<int:showtime_id>/waitlist/leave/",
        views.leave_waitlist,
        name="leave_waitlist",
    ),
    path("bookings/", views.booking_list, name="list"),
    path("bookings/<str:ref>/", views.booking_detail, name="detail"),
    path("bookings/<str:ref>/tickets/", views.choose_tickets, name="choose_tickets"),
    path("bookings/<str:ref>/voucher/", views.voucher, name="voucher"),
    path("bookings/<str:ref>/voucher/remove/", views.remove_voucher, name="remove_voucher"),
    path("bookings/<str:ref>/devices/", views.add_device, name="add_device"),
    path("bookings/<str:ref>/devices/remove/", views.remove_device, name="remove_device"),
    path("bookings/<str:ref>/pay/", views.pay, name="pay"),
    path("bookings/<str:ref>/tickets.pdf", views.tickets_pdf, name="tickets_pdf"),
    path("bookings/<str:ref>/event.ics", views.event_ics, name="event_ics"),
    path("bookings/<str:ref>/paid/", views.paid, name="paid"),
    path("bookings/<str:ref>/extend/", views.extend, name="extend"),
    path("bookings/<str:ref>/exchange/", views.exchange, name="exchange"),
    path(
        "bookings/<str:ref>/exchange/confirm/",
        views.confirm_exchange,
        name="confirm_exchange",
    ),
    path("bookings/<str:ref>/cancel/", views.cancel, name="cancel"),
    path("bookings/<str:ref>/pass-on/", views.pass_on, name="pass_on"),
    path("bookings/<str:ref>/pass-on/take-back/", views.take_back, name="take_back"),
    path("transfers/<str:ref>/", views.transfer_detail, name="transfer"),
    path("transfers/<str:ref>/claim/", views.claim_transfer, name="claim_transfer"),
    path(
        "bookings/<str:ref>/changed/<str:token>/move/",
        change_views.change_move,
        name="change_move",
    ),
    path(
        "bookings/<str:ref>/changed/<str:token>/refund/",
        change_views.change_refund,
        name="change_refund",
    ),
    path("payments/webhook/", views.payment_webhook, name="payment_webhook"),
]
