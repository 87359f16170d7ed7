"""Getting over a database that went away (PostgreSQL restarted, or its primary failed over):
the connections to the old server are dropped, so the next requests and passes connect afresh
(the multi-host DATABASE_URL then finds the new primary) instead of failing on dead ones."""

from django.db import connection


def drop_dead_connections() -> None:
    """Close this thread's connection if an error left it unusable, then test the pool's idle
    connections and replace the dead ones. Cheap: a dead connection fails its test at once, a
    live one answers an empty query. A live connection is left as it is (a caller's
    transaction may still be open on it)."""
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()
    pool = getattr(connection, "pool", None)
    if pool is not None and not pool.closed:
        pool.check()
