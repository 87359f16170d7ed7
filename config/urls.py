from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from api.events import seat_events
from api.v1 import api
from config.health import health
from config.metrics import metrics
from infra.media import serve_media

# The back office has no sign-in form of its own: visitors go through allauth (rate limited,
# Google or password) and a signed-in non-staff user gets 403.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path(f"{settings.MEDIA_URL.lstrip('/')}<path:path>", serve_media, name="media"),
    # The back office's own pages beside the model admin.
    path("admin/", include("backoffice.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # A stream, not a ninja operation (api.events): before the API, so that it wins.
    path("api/v1/showtimes/<int:showtime_id>/seats/events", seat_events, name="api-seat-events"),
    path("api/v1/", api.urls),
    path("", include("bookings.urls")),
    path("", include("checkin.urls")),
    path("", include("waitingroom.urls")),
    path("", include("cinema.urls")),
]
if settings.PAYMENT_GATEWAY == settings.MOCK_GATEWAY:
    urlpatterns.insert(0, path("mock-gateway/", include("payments.mock.urls")))
if settings.PAYMENT_GATEWAY == settings.STRIPE_GATEWAY:
    urlpatterns.insert(0, path("payments/stripe/", include("payments.stripe.urls")))

handler500 = "infra.errors.server_error"
