from django.urls import path

from payments.stripe import views

app_name = "stripe_gateway"

urlpatterns = [
    path("checkout/<str:token>/", views.checkout, name="checkout"),
]
