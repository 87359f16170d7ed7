"""Staff pages of the back office: the live audit feed and the system status."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from audit.consumers import FORBIDDEN
from audit.display import name_showtimes
from audit.health import workers
from audit.models import AuditEvent
from audit.notifier import GROUP
from audit.stream import stream_name, unpublished_count
from infra.health import database_ok, redis_ok
from infra.redis import get_redis

FEED_SIZE = 50


@permission_required("audit.view_auditevent", raise_exception=True)
def audit_feed(request):
    """The newest events, with new ones pushed live; `?kind=` (repeatable) narrows it."""
    kinds = [kind for kind in request.GET.getlist("kind") if kind in AuditEvent.Kind.values]
    events = AuditEvent.objects.select_related("actor")
    if kinds:
        events = events.filter(kind__in=kinds)
    context = {
        **admin.site.each_context(request),
        "title": "Audit feed",
        "events": name_showtimes(events[:FEED_SIZE]),
        "kinds": AuditEvent.Kind.choices,
        "selected": kinds,
        "ws_query": "&".join(f"kind={kind}" for kind in kinds),
        "forbidden_code": FORBIDDEN,
    }
    return render(request, "backoffice/audit_feed.html", context)


@permission_required("audit.view_system", raise_exception=True)
def system_status(request):
    """Is the database up, is Redis up, are the workers running (as `/health` reports them),
    and is the event stream keeping up?"""
    database_up, redis_up = database_ok(), redis_ok()
    stream = {"length": None, "groups": [], "error": ""}
    if redis_up:
        try:
            client = get_redis()
            stream["length"] = client.xlen(stream_name())
            stream["groups"] = client.xinfo_groups(stream_name()) if stream["length"] else []
        except Exception as error:
            stream["error"] = str(error)
    context = {
        **admin.site.each_context(request),
        "title": "System",
        "database_up": database_up,
        "redis_up": redis_up,
        "workers": workers(redis_up=redis_up),
        "stream_name": stream_name(),
        "stream": stream,
        "notifier_group": GROUP,
        "unpublished": unpublished_count() if database_up else None,
        "build_version": settings.BUILD_VERSION,
        "database_vendor": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
    }
    return render(request, "backoffice/system.html", context)
