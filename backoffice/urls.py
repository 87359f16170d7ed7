"""The back office's own pages, beside the model admin (config/urls.py mounts them under /admin/);
`admin.site.admin_view` makes each staff only, and each view checks its permission."""

from django.contrib import admin
from django.urls import path

from backoffice import live_holds, period_reports, sales, system, waiting_rooms

urlpatterns = [
    path("live-holds/", admin.site.admin_view(live_holds.live_holds_index), name="live_holds"),
    path(
        "live-holds/<int:showtime_id>/",
        admin.site.admin_view(live_holds.live_holds),
        name="live_holds_showtime",
    ),
    path(
        "live-holds/<int:showtime_id>/release/",
        admin.site.admin_view(live_holds.release_hold),
        name="live_holds_release",
    ),
    path("audit-feed/", admin.site.admin_view(system.audit_feed), name="audit_feed"),
    path("system/", admin.site.admin_view(system.system_status), name="system_status"),
    path("sales/", admin.site.admin_view(sales.sales_day), name="sales_day"),
    path(
        "sales/<int:showtime_id>/",
        admin.site.admin_view(sales.sales_showtime),
        name="sales_showtime",
    ),
    path("reports/", period_reports.staff_page(period_reports.period_report), name="period_report"),
    path(
        "reports/<slug:report>.csv",
        period_reports.staff_page(period_reports.period_report_csv),
        name="period_report_csv",
    ),
    path(
        "waiting-room/",
        admin.site.admin_view(waiting_rooms.waiting_rooms),
        name="waiting_rooms",
    ),
    path(
        "waiting-room/<int:showtime_id>/",
        admin.site.admin_view(waiting_rooms.waiting_room),
        name="waiting_room",
    ),
]
