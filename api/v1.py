"""The API's first version: its routers, its errors, its schema (/api/v1/openapi.json) and docs
(/api/v1/docs, served from the static files: no CDN)."""

from ninja import NinjaAPI
from ninja.security import django_auth

from api import customers, problems, public

api = NinjaAPI(
    title="Marquee API",
    version="1",
    description="Showtimes, seats and bookings for apps, kiosks and integrations. Refusals are "
    "application/problem+json with a stable `code`.",
    urls_namespace="api-v1",
)
problems.install(api)
api.add_router("", public.router)
# The browser's session, with its CSRF token on every POST (API tokens are to come).
api.add_router("", customers.router, auth=django_auth)
