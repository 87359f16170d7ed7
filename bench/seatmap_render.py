"""Seat map rendering for a 500-seat hall: the showtime page and the map fragment, timed, with
the number of database queries, against a 100-seat hall to show the count does not grow.

    .venv/bin/python bench/seatmap_render.py [--runs 300]

Builds both halls in a fresh SQLite database (or the empty database in BENCH_DATABASE_URL),
sells a quarter of each hall and holds a few seats, then measures in-process:
- page: GET /showtimes/<id>/ through Django's test client as a signed-in user (middleware,
  session, template, the whole response);
- map fragment: the full seat map a WebSocket viewer receives on connect (every seat);
- change fragment: the fragment of four changed seats sent to every viewer on a hold.
Prints median and p99 in milliseconds and the queries of one render of each. Redis is the one
at BENCH_REDIS_URL (default redis://127.0.0.1:6379/10), emptied before and after.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal

from inprocess import setup

setup()

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import services
from bookings.models import Booking, Ticket
from cinema.models import Auditorium, Movie
from cinema.plans import get_plan
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from infra.redis import get_redis
from seats.broadcast import fragment_html, full_map_html, look, read_change, read_map

ROWS = "ABCDEFGHIJKLMNOPQRST"


def layout(rows: int, per_row: int) -> str:
    """`rows` rows of `per_row` standard seats with two aisles, as staff would paste it."""
    side = per_row // 5
    middle = per_row - 2 * side
    return "\n".join(f"{row}  {'s' * side}|{'s' * middle}|{'s' * side}" for row in ROWS[:rows])


def build_hall(name: str, rows: int, per_row: int, movie, buyers) -> tuple:
    auditorium = save_auditorium(auditorium=Auditorium(name=name, layout=layout(rows, per_row)))
    showtime = schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    labels = list(auditorium.seats.order_by("row", "number").values_list("label", flat=True))
    # A quarter sold (in bookings of 4), a few held: every state is on the map. Sold seats are
    # written straight to the database: the map only reads tickets, and paying goes through a
    # gateway this benchmark does not measure.
    seats = dict(auditorium.seats.values_list("label", "id"))
    for start in range(0, len(labels) // 4, 4):
        sold = labels[start : start + 4]
        booking = Booking.objects.create(
            user=buyers[start // 4 % len(buyers)],
            showtime=showtime,
            status=Booking.Status.CONFIRMED,
            amount=Decimal("10.00") * len(sold),
            seat_labels=sold,
        )
        Ticket.objects.bulk_create(
            Ticket(booking=booking, showtime=showtime, seat_id=seats[label], price=Decimal("10.00"))
            for label in sold
        )
    services.hold_seats(user=buyers[0], showtime=showtime, labels=labels[-4:])
    return showtime, labels


def change_fragment(showtime, labels: list[str]) -> str:
    """What a viewer is sent when `labels` change: the seats read as `seats.broadcast.tell`
    reads them (one numbered Redis call, the sold seats' query) and rendered for a viewer."""
    reading = read_change(showtime=showtime, labels=labels)
    looks = [(label, look(state, holder, None)) for label, state, holder in reading.seats]
    return fragment_html(plan=get_plan(showtime.auditorium), version=reading.version, looks=looks)


def timed(fn, runs: int) -> tuple[float, float]:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    get_redis().flushdb()
    call_command("migrate", "--noinput", verbosity=0)
    movie = Movie.objects.create(title="Bench", slug="bench", runtime_minutes=100)
    users = get_user_model().objects
    buyers = [users.create_user(f"buyer{n}", f"buyer{n}@example.com", "x") for n in range(8)]
    for buyer in buyers:  # holding seats needs a confirmed address
        EmailAddress.objects.create(user=buyer, email=buyer.email, verified=True)
    viewer = users.create_user("viewer", "viewer@example.com", "x")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)

    print(f"{args.runs} runs each, {connection.vendor}, {os.cpu_count()} CPUs\n")
    print(f"{'hall':<10}{'render':<18}{'median ms':>10}{'p99 ms':>9}{'queries':>9}{'bytes':>9}")
    results = {}
    for seats, (rows, per_row) in ((100, (10, 10)), (500, (20, 25))):
        showtime, labels = build_hall(f"Hall {seats}", rows, per_row, movie, buyers)
        path = f"/showtimes/{showtime.pk}/"
        changed = labels[len(labels) // 2 : len(labels) // 2 + 4]
        renders = {
            "page": lambda path=path: client.get(path).content,
            "map fragment": lambda s=showtime: full_map_html(
                plan=get_plan(s.auditorium), reading=read_map(showtime=s), viewer_id=viewer.pk
            ),
            "change fragment": lambda s=showtime, c=changed: change_fragment(s, c),
        }
        assert client.get(path).status_code == 200
        for name, render in renders.items():
            median, p99 = timed(render, args.runs)
            count = queries(render)
            size = len(render())
            results[(seats, name)] = (median, p99, count)
            print(f"{seats:<10}{name:<18}{median:>10.2f}{p99:>9.2f}{count:>9}{size:>9}")

    print()
    for name in ("page", "map fragment"):
        median, p99, count = results[(500, name)]
        constant = count == results[(100, name)][2]
        verdict = "PASS" if median <= 10 and count <= 5 else "MISS"
        print(
            f"500-seat {name}: median {median:.2f} ms (target <= 10), {count} queries (target <= 5,"
            f" {'same as' if constant else 'NOT the same as'} 100 seats): {verdict}"
        )
    get_redis().flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
