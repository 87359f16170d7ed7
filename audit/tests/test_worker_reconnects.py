"""A worker outlives its database connection: after PostgreSQL dropped it (a failover, a
restart), the next pass connects afresh instead of failing on the dead one forever."""

import logging
import signal

import psycopg
import pytest
from django.db import DatabaseError, connection

from audit import workers
from cinema.models import Movie


def _terminate_every_other_backend() -> None:
    """Kill every connection to the database but the killer's, as a dying primary drops them."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL=postgres://...)"
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_connection_died_reconnects_on_its_next_pass(
    restore_signal_handlers, monkeypatch
):
    monkeypatch.setattr(workers, "FIRST_BACKOFF", 0.1)
    outcomes = []

    def step():
        if len(outcomes) == 3:
            signal.raise_signal(signal.SIGTERM)
            return
        try:
            outcomes.append(Movie.objects.count())
        except DatabaseError as error:
            outcomes.append(type(error).__name__)
            raise
        if len(outcomes) == 1:
            _terminate_every_other_backend()

    workers.run_passes("test worker", step, interval=0, log=logging.getLogger("test.worker"))

    # The pass after the kill met the dead connection; the one after it had a new one.
    assert outcomes == [0, "OperationalError", 0]
