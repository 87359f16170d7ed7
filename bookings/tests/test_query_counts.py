"""The hot path's database work, pinned so it cannot creep back: queries and commits per request.

Counted the way the database sees them: every statement Django sends (sessions and the user
included, savepoints too) and every commit, a transaction's or an autocommitted write's. The mock
gateway's own ledger stands in for a remote provider, so its statements are not ours.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db import connection

from bookings.models import Booking, Payment
from conftest import deliver_webhooks, pay_on_gateway, verified_user
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)

GATEWAY_LEDGER = re.compile(r'\bmock_|"mock_|payments_mock', re.IGNORECASE)
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Work:
    queries: list[str] = field(default_factory=list)
    commits: int = 0

    def __repr__(self) -> str:
        listed = "\n  ".join(query[:100] for query in self.queries)
        return f"{len(self.queries)} queries, {self.commits} commits:\n  {listed}"


@contextmanager
def counted():
    """The statements and commits of this connection inside the block, the gateway's left out."""
    work = Work()
    commit = connection.commit
    ours_since_commit = False

    def counting_commit():
        nonlocal ours_since_commit
        # A transaction of the gateway's own ledger alone is not ours.
        work.commits += ours_since_commit
        ours_since_commit = False
        commit()

    def ours(execute, sql, params, many, context):
        nonlocal ours_since_commit
        # SQLite's BEGIN IMMEDIATE opens the transaction that PostgreSQL opens implicitly.
        if not GATEWAY_LEDGER.search(sql) and not sql.startswith("BEGIN"):
            work.queries.append(sql[:160])
            autocommitted = connection.get_autocommit() and not connection.in_atomic_block
            if autocommitted and sql.lstrip().upper().startswith(WRITES):
                work.commits += 1
            elif not autocommitted:
                ours_since_commit = True
        return execute(sql, params, many, context)

    connection.commit = counting_commit
    try:
        with connection.execute_wrapper(ours):
            yield work
    finally:
        del connection.commit


@pytest.fixture
def buyer(client, user, showtime):
    """A signed-in buyer whose session has been read once (as on any page before a hold), at a
    showtime already selling (the first hold ever also seeds the fence counter in Redis)."""
    holds.hold(showtime_id=showtime.pk, labels=["C1"], token="first-buyer", ttl_seconds=60)
    client.force_login(user)
    assert client.get(showtime.get_absolute_url()).status_code == 200
    return client


def _hold(client, showtime, *labels, **headers):
    return client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": list(labels)}, headers=headers)


# The session's user, the showtime, its sold seats, the account's lock, its bookings (read by a
# statement of their own once the lock is held: see bookings.selectors.lock_account), the
# booking, its event.
HOLD_QUERIES = 7


def test_a_successful_hold_is_one_short_transaction(buyer, showtime):
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 303
    assert len(work.queries) <= HOLD_QUERIES, work
    assert work.commits == 1, work


def test_changing_a_hold_costs_the_same(buyer, showtime):
    _hold(buyer, showtime, "A3")
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 303
    assert len(work.queries) <= HOLD_QUERIES, work
    assert work.commits == 1, work


def test_a_seat_held_by_someone_else_is_a_cheap_409(buyer, showtime):
    holds.hold(showtime_id=showtime.pk, labels=["A4"], token="someone-else", ttl_seconds=60)
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 409
    assert len(work.queries) <= 3, work
    assert work.commits == 0, work


def test_a_sold_seat_is_a_cheap_409(buyer, showtime, bob):
    from conftest import pay

    sold = Booking.objects.get(pk=_booking_of(bob, showtime, "A4").pk)
    assert pay(sold).status == Booking.Status.CONFIRMED
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 409
    assert len(work.queries) <= 3, work
    assert work.commits == 0, work


def test_an_htmx_409_is_the_seat_map_and_the_message(buyer, showtime):
    holds.hold(showtime_id=showtime.pk, labels=["A4"], token="someone-else", ttl_seconds=60)
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4", HX_Request="true")
    assert response.status_code == 409
    assert len(work.queries) <= 3, work
    page = response.content.decode()
    assert "Someone else is holding" in page
    assert 'id="seat-A4"' in page
    assert "<html" not in page and "<head" not in page


def test_starting_to_pay_commits_the_attempt_then_its_session(buyer, showtime):
    """The attempt (with the hold's new expiry and its audit event) commits before the gateway
    is asked, as a payment is a record before it is a call; the session id the gateway answers
    with is stored after it, so the sweeper and the return page can ask about it."""
    booking = Booking.objects.get(ref=_hold(buyer, showtime, "A3")["Location"].split("/")[2])
    with counted() as work:
        response = buyer.post(f"/bookings/{booking.ref}/pay/")
    assert response.status_code == 303
    assert len(work.queries) <= 8, work
    assert work.commits == 2, work
    assert Payment.objects.get(booking=booking).status in {"created", "open"}


def test_the_webhook_that_confirms_is_one_commit(buyer, showtime, client):
    booking = Booking.objects.get(ref=_hold(buyer, showtime, "A3")["Location"].split("/")[2])
    gateway_page = buyer.post(f"/bookings/{booking.ref}/pay/")["Location"]
    assert pay_on_gateway(buyer, gateway_page).status_code == 303
    with counted() as work:
        (response,) = deliver_webhooks(client)
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    # 9: the confirmation's email names the access devices to collect, read with the booking.
    assert len(work.queries) <= 9, work
    assert work.commits == 1, work


def _booking_of(user, showtime, *labels) -> Booking:
    from bookings import services

    return services.hold_seats(user=user, showtime=showtime, labels=list(labels))


def test_the_counter_sees_commits(db):
    """The instrument itself: a write outside a transaction is one commit, a transaction one."""
    from django.db import transaction

    with counted() as work:
        verified_user("cara")
    assert work.commits >= 1
    with counted() as work, transaction.atomic():
        verified_user("dan")
    assert work.commits == 1
