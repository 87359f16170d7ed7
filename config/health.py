from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.redis import get_redis


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def redis_ok() -> bool:
    try:
        return bool(get_redis().ping())
    except Exception:
        return False


@never_cache
def health(request):
    checks = {"database": database_ok(), "redis": redis_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)
