"""SQL queries and commits per request on the hot path of a sale, counted in-process.

    .venv/bin/python bench/hot_path_queries.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_queries \\
        .venv/bin/python bench/hot_path_queries.py

No servers: Django's test Client calls the views in this process, against the database in
DATABASE_URL (default a fresh SQLite file in a temporary directory; a PostgreSQL database named
there is dropped and created again, then dropped at the end) and the Redis in REDIS_URL
(default redis://127.0.0.1:6379/13, emptied at the start). It migrates, runs seed_demo and
takes two showtimes of the Grand (478 seats); a buyer signed in with `force_login` (a verified
address, as holding needs), another user holding a seat and a third who bought one. On each
showtime the buyer sends, in order:
- a hold refused (409) because a seat is held by someone else, the same as an htmx request
  (`HX-Request: true`), and one refused because a seat is sold;
- a hold that succeeds (303); POST /bookings/<ref>/pay/ (303 to the gateway); the mock
  gateway's page with a test card (303 back);
- then the gateway's webhook that confirms the booking (MOCK_GATEWAY_WEBHOOKS=manual keeps it
  in the mock's outbox; it is posted as the tests post it, without a session).
The first showtime is a throwaway round, so caches (the session in a cached_db engine, the
layout, content types, Redis scripts) are as warm as in steady state; the table is the second.

How it counts: every statement goes through a `connection.execute_wrapper`, which sees exactly
what Django sends to the database, savepoints included. COMMIT is a driver call, and so is BEGIN
on PostgreSQL; SQLite's BEGIN IMMEDIATE is a statement, left out so that both count alike. A
statement naming a `mock_gateway_*` table is the gateway's: its own ledger, which
a real provider keeps on its side. Commits: `connection.commit` is wrapped, and Django's atomic
blocks commit through it; a write statement outside any atomic block (autocommit) is counted as
a commit of its own. A commit whose transaction touched only gateway tables is the gateway's.
Rollbacks (a refused hold undoing its transaction) are counted by wrapping `connection.rollback`.
"""

import argparse
import os
import sys
import tempfile
from collections import Counter
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_tmp = tempfile.TemporaryDirectory()
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{_tmp.name}/queries.sqlite3"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",  # query counts do not depend on it; DEBUG=0 would need collected statics
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "MEDIA_ROOT": f"{_tmp.name}/media",
        "MOCK_GATEWAY_WEBHOOKS": "manual",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "ERROR",  # not a warning per 409
    }
)

import django
import psycopg
import redis

GATEWAY_TABLE = "mock_gateway_"
WRITES = ("INSERT", "UPDATE", "DELETE")
CARD = {"card": "4242 4242 4242 4242", "exp": "12/39", "cvc": "123"}


def postgres_admin() -> tuple[str, str] | None:
    """(URL of the server's `postgres` database, name of ours) when DATABASE_URL is PostgreSQL."""
    parts = urlsplit(DATABASE_URL)
    if not parts.scheme.startswith("postgres"):
        return None
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    return admin, parts.path.lstrip("/")


def recreate_database() -> None:
    if target := postgres_admin():
        admin, name = target
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()


def drop_database() -> None:
    if target := postgres_admin():
        admin, name = target
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Tally:
    """What the requests `measure` runs send to the database."""

    def __init__(self, connection):
        self.connection = connection
        self.queries: Counter = Counter()  # "ours" / "gateway"
        self.commits: Counter = Counter()
        self.rollbacks = 0
        self.active = False
        self._transaction: set[str] = set()  # whose statements the open transaction ran
        commit, rollback = connection.commit, connection.rollback

        def counted_commit():
            commit()
            if self.active:
                self.commits["gateway" if self._transaction == {"gateway"} else "ours"] += 1
            self._transaction.clear()

        def counted_rollback():
            rollback()
            self.rollbacks += self.active
            self._transaction.clear()

        connection.commit, connection.rollback = counted_commit, counted_rollback
        connection.execute_wrappers.append(self._statement)

    def _statement(self, execute, sql, params, many, context):
        if self.active and not sql.startswith("BEGIN"):
            whose = "gateway" if GATEWAY_TABLE in sql else "ours"
            self.queries[whose] += 1
            if self.connection.in_atomic_block:
                self._transaction.add(whose)
            elif sql.lstrip().upper().startswith(WRITES):
                self.commits[whose] += 1
        return execute(sql, params, many, context)

    def measure(self, send):
        """Run `send()` (one request) and return its response and what it cost."""
        self.queries.clear()
        self.commits.clear()
        self.rollbacks = 0
        self.active = True
        try:
            response = send()
        finally:
            self.active = False
        return response, (dict(self.queries), dict(self.commits), self.rollbacks)


def verified_user(username: str):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    email = f"{username}@example.com"
    user = get_user_model().objects.create_user(username, email, "correct-horse-battery")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def deliveries(booking_ref: str):
    """The mock's webhooks, kept in its outbox, for the booking's latest payment."""
    from bookings.models import Payment
    from payments.mock.webhooks import pending

    payment = Payment.objects.filter(booking__ref=booking_ref).latest("created_at")
    return pending(payment.session_id)


def post_webhook(client, delivery):
    return client.post(
        "/payments/webhook/",
        data=delivery.body,
        content_type="application/json",
        headers=delivery.headers,
    )


def buy(user, showtime, labels: list[str]) -> None:
    """Setup, not measured: `user` holds `labels` and pays the whole way."""
    from django.test import Client

    from payments.mock.webhooks import mark_delivered

    client = Client()
    client.force_login(user)
    held = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": labels})
    booking = held["Location"]
    gateway = client.post(f"{booking}pay/")["Location"]
    client.post(gateway, CARD)
    for delivery in deliveries(booking.strip("/").split("/")[-1]):
        post_webhook(Client(), delivery)
        mark_delivered(delivery.event_id)


def round_on(showtime, *, buyer_client, others, tally: Tally) -> list[tuple]:
    """The buyer's requests on one showtime; rows of (request, status, costs)."""
    from django.test import Client

    from bookings import services
    from payments.mock.webhooks import mark_delivered

    holder, seller = others
    services.hold_seats(user=holder, showtime=showtime, labels=["J10"])
    buy(seller, showtime, ["J11", "J12"])
    hold_url = f"/showtimes/{showtime.pk}/hold/"
    rows = []

    def measure(name: str, send):
        response, costs = tally.measure(send)
        rows.append((name, response.status_code, *costs))
        return response

    measure(
        "hold 409: a seat held by another", lambda: buyer_client.post(hold_url, {"seats": ["J10"]})
    )
    measure(
        "hold 409: the same, htmx",
        lambda: buyer_client.post(hold_url, {"seats": ["J10"]}, headers={"HX-Request": "true"}),
    )
    measure("hold 409: a seat sold", lambda: buyer_client.post(hold_url, {"seats": ["J12"]}))
    held = measure("hold 303", lambda: buyer_client.post(hold_url, {"seats": ["J15", "J16"]}))
    booking = held["Location"]
    paying = measure("pay 303: start paying", lambda: buyer_client.post(f"{booking}pay/"))
    measure("gateway page: the card (mock)", lambda: buyer_client.post(paying["Location"], CARD))
    [delivery] = deliveries(booking.strip("/").split("/")[-1])
    gateway = Client()
    measure("webhook: payment succeeded", lambda: post_webhook(gateway, delivery))
    mark_delivered(delivery.event_id)
    return rows


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    recreate_database()
    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.utils import timezone

    from cinema.models import Showtime

    try:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", stdout=StringIO())
        soon = timezone.now() + timedelta(hours=1)
        warm, measured = (
            Showtime.objects.upcoming()
            .filter(auditorium__name="Screen 1 · Grand", on_sale=True, starts_at__gt=soon)
            .order_by("starts_at")[:2]
        )
        buyer, holder, seller = (verified_user(name) for name in ("ann", "bob", "carol"))
        client = Client()
        client.force_login(buyer)
        tally = Tally(connection)
        others = (holder, seller)
        round_on(warm, buyer_client=client, others=others, tally=tally)
        rows = round_on(measured, buyer_client=client, others=others, tally=tally)
    finally:
        connections.close_all()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
        drop_database()

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"hot path queries: {engine}, sessions {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}, "
        f"showtime {measured.pk} of the Grand (the second round; the first warmed up)\n"
    )
    head = ("request", "status", "queries", "gateway q", "commits", "gateway c", "rollbacks")
    print(f"{head[0]:<34}" + "".join(f"{h:>10}" for h in head[1:]))
    for name, status, queries, commits, rollbacks in rows:
        cells = (
            status,
            queries.get("ours", 0),
            queries.get("gateway", 0),
            commits.get("ours", 0),
            commits.get("gateway", 0),
            rollbacks,
        )
        print(f"{name:<34}" + "".join(f"{cell:>10}" for cell in cells))
    print(
        "\nqueries / commits: ours; gateway q / gateway c: the mock gateway's own ledger "
        f"({GATEWAY_TABLE}* tables). A write outside a transaction counts as a commit."
    )


if __name__ == "__main__":
    main()
