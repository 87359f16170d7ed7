"""The real settings for a daphne a test starts with DEBUG off, serving static files from the
finders: tests run without collectstatic, so the production manifest does not exist."""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
