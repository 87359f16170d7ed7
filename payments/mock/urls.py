from django.urls import path

from payments.mock import views

app_name = "mock_gateway"

urlpatterns = [
    path("checkout/<str:session_id>/", views.checkout, name="checkout"),
    path("checkout/<str:session_id>/authenticate/", views.authenticate, name="authenticate"),
]
