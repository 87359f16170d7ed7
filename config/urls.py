from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from config.health import health

urlpatterns = [
    path("health", health, name="health"),
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("", include("bookings.urls")),
    path("", include("cinema.urls")),
]
