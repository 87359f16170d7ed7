"""Django inside a benchmark script: a fresh SQLite database in a temporary directory (or the
empty database BENCH_DATABASE_URL names) and a Redis database of the script's own
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/10). Call `setup()` before importing models."""

import os
import sys
import tempfile
from pathlib import Path

_database_dir = tempfile.TemporaryDirectory()  # lives as long as the script


def setup(**environment: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    default_database = f"sqlite:///{_database_dir.name}/b.db"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or default_database
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.update(environment)

    import django

    django.setup()
