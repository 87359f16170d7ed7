"""The door: how long one scan takes to answer, and how many queries, for a full 478-seat hall.

    .venv/bin/python bench/door_scan.py [--runs 300]

Builds the demo's Grand in a fresh SQLite database (or the empty database in
BENCH_DATABASE_URL), sells every seat, then measures in-process, through Django's test client as
a signed-in member of staff (middleware, session, the whole JSON answer):
- admit: the first scan of each ticket (a check-in row written);
- already in: the same tickets scanned again (the refusal names who let them in);
- not a ticket: a code with a bad signature;
- ticket list: the whole showtime's list a door downloads to work offline.
Prints median and p99 in milliseconds, and the queries of one request of each. Redis is the one
at BENCH_REDIS_URL (default redis://127.0.0.1:6379/10), emptied before and after.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from inprocess import setup

setup(ALLOWED_HOSTS="testserver")

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import ticket_codes
from bookings.models import Booking, Ticket
from cinema.management.commands.seed_demo import AUDITORIUMS
from cinema.models import Auditorium, Movie
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from infra.redis import get_redis


def build(staff) -> tuple[int, list[str]]:
    hall = save_auditorium(
        auditorium=Auditorium(name="Grand", layout=AUDITORIUMS["Screen 1 · Grand"])
    )
    movie = Movie.objects.create(title="Bench Film", slug="bench-film", runtime_minutes=100)
    showtime = schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(hours=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    seats = list(hall.seats.filter(blocked=False))
    booking = Booking.objects.create(
        user=staff,
        showtime=showtime,
        status=Booking.Status.CONFIRMED,
        amount=Decimal("10.00") * len(seats),
        seat_labels=[seat.label for seat in seats],
    )
    tickets = Ticket.objects.bulk_create(
        Ticket(booking=booking, showtime=showtime, seat=seat, price=Decimal("10.00"))
        for seat in seats
    )
    codes = [
        ticket_codes.encode(showtime_id=showtime.pk, ticket_id=t.pk, secret=t.secret)
        for t in tickets
    ]
    return showtime.pk, codes


def timed(request, items, probe) -> tuple[float, float, int]:
    """Median and p99 of `request(item)` over `items`, and the queries of `request(probe)`."""
    samples = []
    for item in items:
        started = time.perf_counter()
        request(item)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        request(probe)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    get_redis().flushdb()  # the audit events' stream lands here
    staff = get_user_model().objects.create_superuser("door", "door@example.com", "x")
    showtime, codes = build(staff)
    client = Client()
    client.force_login(staff)
    json = {"Accept": "application/json"}

    def scanner(expected: int):
        def scan(code: str):
            response = client.post(f"/checkin/{showtime}/scan/", {"code": code}, headers=json)
            assert response.status_code == expected, (response.status_code, response.content)

        return scan

    runs = min(args.runs, len(codes) - 1)
    forged = [code[:-6] + ("AAAAAA" if not code.endswith("AAAAAA") else "BBBBBB") for code in codes]

    def ticket_list(_):
        return client.get(f"/checkin/{showtime}/tickets.json", headers=json)

    rows = [
        ("admit", timed(scanner(200), codes[1 : runs + 1], codes[0])),
        ("already in", timed(scanner(409), codes[1 : runs + 1], codes[1])),
        ("not a ticket", timed(scanner(400), forged[:runs], forged[0])),
        ("ticket list (478)", timed(ticket_list, list(range(max(10, runs // 10))), 0)),
    ]
    print(f"{runs} scans each, {connection.vendor}, {os.cpu_count()} CPUs\n")
    print(f"{'request':<20} {'median ms':>10} {'p99 ms':>8} {'queries':>8}")
    for name, (median, p99, queries) in rows:
        print(f"{name:<20} {median:>10.2f} {p99:>8.2f} {queries:>8}")
    get_redis().flushdb()


if __name__ == "__main__":
    main()
