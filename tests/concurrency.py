"""Running test code in many threads at once, for the race tests (PostgreSQL only)."""

import threading

import pytest
from django.conf import settings
from django.db import connection

# SQLite serialises every write transaction, so concurrent writers need PostgreSQL: CI runs these
# in its PostgreSQL pass.
POSTGRES_ONLY = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="concurrent writers need PostgreSQL",
)


def at_once(target, items) -> dict:
    """Run target(item) for every item at once; return {item: result or exception}."""
    results = {}
    start = threading.Barrier(len(items))

    def run(item):
        try:
            start.wait()
            results[item] = target(item)
        except Exception as error:
            results[item] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
