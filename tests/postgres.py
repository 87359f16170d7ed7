"""Throwaway PostgreSQL databases for the tests that need one beside the test run's own."""

import secrets
from contextlib import contextmanager

import psycopg


@contextmanager
def postgres_database(beside: str, *, prefix: str):
    """An empty database on the server of `beside` (a database URL), named `prefix_<random>`,
    dropped afterwards whatever happened; yields its URL."""
    server = beside.rsplit("/", 1)[0]
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
