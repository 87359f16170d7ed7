from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from config.health import health

# The back office has no sign-in form of its own: visitors go through allauth (rate limited,
# Google or password) and a signed-in non-staff user gets 403.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("health", health, name="health"),
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("bookings.urls")),
    path("", include("cinema.urls")),
]
