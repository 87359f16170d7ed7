from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from audit.views import audit_feed, system_status
from bookings.admin_views import live_holds, live_holds_index, release_hold
from bookings.report_views import sales_day, sales_showtime, waiting_room, waiting_rooms
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
    # Back-office pages beside the model admin; admin_view makes them staff only.
    path("admin/live-holds/", admin.site.admin_view(live_holds_index), name="live_holds"),
    path(
        "admin/live-holds/<int:showtime_id>/",
        admin.site.admin_view(live_holds),
        name="live_holds_showtime",
    ),
    path(
        "admin/live-holds/<int:showtime_id>/release/",
        admin.site.admin_view(release_hold),
        name="live_holds_release",
    ),
    path("admin/audit-feed/", admin.site.admin_view(audit_feed), name="audit_feed"),
    path("admin/system/", admin.site.admin_view(system_status), name="system_status"),
    path("admin/sales/", admin.site.admin_view(sales_day), name="sales_day"),
    path(
        "admin/sales/<int:showtime_id>/",
        admin.site.admin_view(sales_showtime),
        name="sales_showtime",
    ),
    path("admin/waiting-room/", admin.site.admin_view(waiting_rooms), name="waiting_rooms"),
    path(
        "admin/waiting-room/<int:showtime_id>/",
        admin.site.admin_view(waiting_room),
        name="waiting_room",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("bookings.urls")),
    path("", include("checkin.urls")),
    path("", include("waitingroom.urls")),
    path("", include("cinema.urls")),
]
if settings.PAYMENT_GATEWAY == settings.MOCK_GATEWAY:
    urlpatterns.insert(0, path("mock-gateway/", include("payments.mock.urls")))

handler500 = "infra.errors.server_error"
