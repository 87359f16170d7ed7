"""Uploaded media (posters), served by the app from the default storage, same origin as the pages.

Runtime uploads are not static files (WhiteNoise knows only what existed at start-up), and there
is no nginx in front of daphne. Names are content-hashed, so a response never changes: cache
it for a year. Only images are served, so an uploaded page can never run under this origin.
"""

import re

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_safe

CONTENT_TYPES = {
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
# Lower-case segments without dots, then an image extension: no "..", no absolute paths.
SAFE_NAME = re.compile(r"(?:[a-z0-9_-]+/)*[a-z0-9_-]+\.(?P<ext>[a-z]+)")
CACHE_FOREVER = "public, max-age=31536000, immutable"


def media_url(name: str) -> str:
    """The same-origin URL of a stored file, whatever storage holds it."""
    return f"{settings.MEDIA_URL}{name}"


@require_safe
def serve_media(request, path: str):
    match = SAFE_NAME.fullmatch(path)
    if match is None or match["ext"] not in CONTENT_TYPES:
        raise Http404
    try:
        if not default_storage.exists(path):
            raise Http404
        if request.method == "HEAD":
            response = HttpResponse()
            response["Content-Length"] = default_storage.size(path)
        else:
            response = FileResponse(default_storage.open(path, "rb"))
    except SuspiciousFileOperation:
        raise Http404 from None
    response["Content-Type"] = CONTENT_TYPES[match["ext"]]
    response["Cache-Control"] = CACHE_FOREVER
    return response
