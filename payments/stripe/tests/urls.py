"""The site's URLs with the Stripe provider's pages, as config.urls has them when it is on."""

from django.urls import include, path

from config.urls import handler500
from config.urls import urlpatterns as site

urlpatterns = [path("payments/stripe/", include("payments.stripe.urls")), *site]

__all__ = ["handler500", "urlpatterns"]
