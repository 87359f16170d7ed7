"""Web CPU of joining the waiting room: the queue page answered at the edge against by the view.

    .venv/bin/python bench/queue_join.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_join \\
        REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/queue_join.py --members 500 --rounds 3

No servers: the ASGI application as config.asgi composes it for HTTP with QUEUE_AT_THE_EDGE on
(the edge's limits, then waitingroom.edge in front of Django) is called in this process, and the
same without waitingroom.edge (Django's view answers every visit, as with the setting off).
Against the database in DATABASE_URL (default a fresh SQLite file in a temporary directory; a
PostgreSQL database named there is dropped and created again, then dropped at the end) and the
Redis in REDIS_URL (default redis://127.0.0.1:6379/13, emptied at the start). It migrates, runs
seed_demo, turns on the waiting room of a Grand showtime and signs in `--members` users with a
confirmed address (a session in the cached_db store and the member remembered, as signing in
does), each with the CSRF cookie the sign-in page leaves.

Each round, for each way in turn (the order alternates between rounds): the room's queue emptied,
then every member's first visit (the page: joining), then every member's htmx poll (the place
fragment), one after the other. Measured: CPU seconds of this process (time.process_time: every
thread, the loop's and Django's) and wall time per request, medians over the rounds; how many of
the visits Django served. DEBUG=1 for static files without collecting them, but the database
cursor is the production one (no query log).
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_tmp = tempfile.TemporaryDirectory()
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{_tmp.name}/join.sqlite3"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        # The edge's way: what it answers from is remembered only with it on.
        "QUEUE_AT_THE_EDGE": "1",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "MEDIA_ROOT": f"{_tmp.name}/media",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "ERROR",
    }
)

import django
import psycopg
import redis

CSRF = "c" * 32


def postgres_admin() -> tuple[str, str] | None:
    parts = urlsplit(DATABASE_URL)
    if not parts.scheme.startswith("postgres"):
        return None
    return urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, "")), parts.path[1:]


def recreate_database(*, drop_only: bool = False) -> None:
    if target := postgres_admin():
        admin, name = target
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if not drop_only:
                conn.execute(f"CREATE DATABASE {name}")


def setup(members: int):
    """The showtime with its room on, and the members' session keys."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.core.management import call_command

    from cinema.models import Showtime
    from waitingroom import remembered
    from waitingroom.models import WaitingRoom

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    showtime = (
        Showtime.objects.filter(auditorium__name__icontains="Grand").order_by("starts_at").first()
    )
    WaitingRoom.objects.update_or_create(showtime=showtime, defaults={"on": True})
    user_model = get_user_model()
    keys = []
    for n in range(members):
        user = user_model.objects.create_user(f"join{n:04d}", f"join{n:04d}@example.com")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        remembered.remember_member(user)
        keys.append(session.session_key)
    return showtime.pk, keys


def scope(path: str, session_key: str, claim: str, *, htmx: bool) -> dict:
    cookie = f"sessionid={session_key}; csrftoken={CSRF}"
    if claim:
        cookie += f"; {claim}"
    headers = [(b"host", b"testserver"), (b"cookie", cookie.encode())]
    if htmx:
        headers.append((b"hx-request", b"true"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def visit(app, request_scope: dict) -> tuple[int, str]:
    """Status and the claim cookie the answer sets (`wr<id>=...`)."""
    sent = []
    done = asyncio.Event()
    asked = []

    async def receive():
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(request_scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    claim = ""
    for name, value in start["headers"]:
        if name.lower() == b"set-cookie" and value.startswith(b"wr"):
            claim = value.decode().split(";", 1)[0]
    return start["status"], claim


async def one_way(app, showtime_id: int, keys: list[str]) -> dict:
    from waitingroom import queue

    redis.Redis.from_url(REDIS_URL).delete(*queue._keys(showtime_id).values())
    path = f"/showtimes/{showtime_id}/queue/"
    claims, figures = {}, {}
    for kind, htmx in (("join", False), ("poll", True)):
        statuses = []
        cpu, wall = time.process_time(), time.perf_counter()
        for key in keys:
            status, claim = await visit(app, scope(path, key, claims.get(key, ""), htmx=htmx))
            claims[key] = claim or claims.get(key, "")
            statuses.append(status)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert set(statuses) == {200}, statuses
        figures[kind] = (cpu * 1000 / len(keys), wall * 1000 / len(keys))
    return figures


async def run(args) -> None:
    from django.conf import settings
    from django.core.asgi import get_asgi_application

    from infra.limits import Admission, EventStreamLimits, RequestBodyLimit
    from waitingroom.edge import QueueAtTheEdge

    showtime_id, keys = await asyncio.to_thread(setup, args.members)
    settings.DEBUG = False  # the production cursor: no query log
    django_app = get_asgi_application()
    served = {"n": 0}

    async def counted(scope, receive, send):
        served["n"] += 1
        await django_app(scope, receive, send)

    def composed(inner):
        return Admission(EventStreamLimits(RequestBodyLimit(inner)))

    ways = {"view": composed(counted), "edge": composed(QueueAtTheEdge(counted))}
    # A throwaway round: templates, scripts, connections warm; the view reads the room.
    for app in ways.values():
        await one_way(app, showtime_id, keys[: min(50, len(keys))])
    results = {name: [] for name in ways}
    by_django = {name: 0 for name in ways}
    for round_ in range(args.rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for name in order:
            before = served["n"]
            results[name].append(await one_way(ways[name], showtime_id, keys))
            by_django[name] += served["n"] - before
    print(
        f"{args.members} members x {args.rounds} rounds, database {DATABASE_URL.split('@')[-1]}, "
        f"Redis {REDIS_URL}; load average {os.getloadavg()[0]:.2f}"
    )
    print("| | view: CPU / wall ms | edge: CPU / wall ms | CPU ratio |")
    print("| --- | --- | --- | --- |")
    for kind, label in (("join", "first visit (joins)"), ("poll", "htmx poll")):
        row = {}
        for name in ways:
            row[name] = tuple(statistics.median(r[kind][i] for r in results[name]) for i in (0, 1))
        ratio = row["view"][0] / row["edge"][0]
        print(
            f"| {label} | {row['view'][0]:.3f} / {row['view'][1]:.3f} "
            f"| {row['edge'][0]:.3f} / {row['edge'][1]:.3f} | {ratio:.1f}x |"
        )
    total = 2 * args.members * args.rounds
    print(
        f"visits Django served: view {by_django['view']} of {total}, "
        f"edge {by_django['edge']} of {total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    recreate_database()
    redis.Redis.from_url(REDIS_URL).flushdb()
    django.setup()
    try:
        asyncio.run(run(args))
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(drop_only=True)


if __name__ == "__main__":
    main()
