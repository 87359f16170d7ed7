"""The API's first version: its routers, its errors, its schema (/api/v1/openapi.json) and docs
(/api/v1/docs, served from the static files: no CDN)."""

from ninja import NinjaAPI

from api import customers, problems, public, staff
from api.auth import signed_in
from infra.problems import CONTENT_TYPE

MALFORMED = {
    "description": "Bad Request",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


class MarqueeAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """The schema, with each refusal's media type as it is sent (application/problem+json),
        and the 400 every operation gives a request it cannot read."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].setdefault("400", MALFORMED)
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    body = content.get("application/json", {})
                    if body.get("schema", {}).get("$ref", "").endswith("/Problem"):
                        content[CONTENT_TYPE] = content.pop("application/json")
        return schema


api = MarqueeAPI(
    title="Marquee API",
    version="1",
    description="Showtimes, seats and bookings for apps, kiosks and integrations. Refusals are "
    "application/problem+json with a stable `code`.",
    urls_namespace="api-v1",
)
problems.install(api)
api.add_router("", public.router)
api.add_router("", customers.router, auth=signed_in("customer"))
api.add_router("", staff.router)
api.get("/problems", include_in_schema=False)(problems.codes_page)
