from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.errors import (
    BookingClosed,
    HoldLost,
    InvalidRequest,
    RateLimited,
    SeatsUnavailable,
)
from bookings.models import Booking, Payment, Refund, Ticket
from cinema.plans import get_plan
from conftest import DECLINED_CARD, deliver_webhooks, pay, pay_on_gateway, start_paying
from payments.mock.models import MockSession
from seats import holds
from seats.seatmap import read_seat_states, view_seat_map

# Real commits: holds are released and broadcasts sent only after commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _held(showtime) -> dict[str, str]:
    labels = [seat.label for seat in showtime.auditorium.seats.all()]
    return holds.held_labels(showtime_id=showtime.pk, labels=labels)


def _states(showtime, user=None) -> dict[str, str]:
    seat_map = view_seat_map(showtime=showtime, user=user)
    return {view.label: str(view.state) for row in seat_map.rows if row for view in row[1] if view}


def test_hold_creates_a_pending_booking(showtime, user, settings):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["a3", "A4"])
    assert booking.status == Booking.Status.PENDING
    assert booking.seat_labels == ["A3", "A4"]
    assert booking.amount == Decimal("20.00")  # two Adult tickets on the test list
    assert [line["type_name"] for line in booking.lines] == ["Adult", "Adult"]
    assert booking.fence >= 1
    remaining = (booking.expires_at - timezone.now()).total_seconds()
    assert settings.HOLD_TTL_SECONDS - 5 < remaining <= settings.HOLD_TTL_SECONDS
    assert _held(showtime) == {"A3": booking.hold_token, "A4": booking.hold_token}


def test_held_seats_are_held_for_others_and_mine_for_the_holder(showtime, user, bob):
    services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert _states(showtime, user)["A3"] == "mine"
    assert _states(showtime, bob)["A3"] == "held"
    assert _states(showtime)["A3"] == "held"


def test_a_conflicting_hold_holds_nothing_and_names_the_seats(showtime, user, bob):
    services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    with pytest.raises(SeatsUnavailable) as error:
        services.hold_seats(user=bob, showtime=showtime, labels=["A4", "A5"])
    assert error.value.conflicts == ["A4"]
    assert "A5" not in _held(showtime)
    assert not Booking.objects.filter(user=bob).exists()


def test_a_seat_sold_after_the_sold_check_is_not_held(showtime, user, bob):
    """The sale commits between the hold's read of the seat states and its Redis hold (the
    buyer's hold already ended): the sold seat's mark refuses the hold, nothing is held."""
    plan = get_plan(showtime.auditorium)
    read_before_the_sale = read_seat_states(showtime=showtime, plan=plan)
    pay(services.hold_seats(user=bob, showtime=showtime, labels=["A3"]))

    with pytest.raises(SeatsUnavailable) as caught:
        services.hold_seats(
            user=user, showtime=showtime, labels=["A3", "A4"], states=read_before_the_sale
        )

    assert caught.value.conflicts == ["A3"]
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A3", "A4"]) == {}
    assert not Booking.objects.filter(user=user).exists()


def test_a_new_hold_replaces_the_old_one(showtime, user):
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    second = services.hold_seats(user=user, showtime=showtime, labels=["A4", "A5", "A6"])
    assert second.pk == first.pk
    assert Booking.objects.filter(user=user, status=Booking.Status.PENDING).count() == 1
    assert set(_held(showtime)) == {"A4", "A5", "A6"}


def test_a_failed_replacement_keeps_the_old_hold(showtime, user, bob):
    services.hold_seats(user=bob, showtime=showtime, labels=["B1"])
    first = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    with pytest.raises(SeatsUnavailable):
        services.hold_seats(user=user, showtime=showtime, labels=["A3", "B1"])
    first.refresh_from_db()
    assert first.seat_labels == ["A3", "A4"]
    assert _held(showtime) == {
        "A3": first.hold_token,
        "A4": first.hold_token,
        "B1": _held(showtime)["B1"],
    }


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([], "Pick at least one seat"),
        (["Z9"], "There is no seat Z9"),
        (["C4"], "Seat C4 is not for sale"),
        (["A3", "A3"], "Seat A3 is listed more than once"),
        ([f"B{n}" for n in range(1, 9)] + [f"A{n}" for n in range(1, 4)], "at most 10 seats"),
    ],
)
def test_bad_seat_requests_are_refused(showtime, user, labels, message):
    with pytest.raises(InvalidRequest, match=message):
        services.hold_seats(user=user, showtime=showtime, labels=labels)
    assert _held(showtime) == {}
    assert not Booking.objects.exists()


def test_started_or_paused_showtimes_are_not_on_sale(showtime, user):
    showtime.on_sale = False
    showtime.save()
    with pytest.raises(BookingClosed, match="not on sale"):
        services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    showtime.on_sale = True
    showtime.starts_at = timezone.now() - timedelta(minutes=1)
    showtime.save()
    with pytest.raises(BookingClosed, match="already started"):
        services.hold_seats(user=user, showtime=showtime, labels=["A3"])


def test_best_available_holds_adjacent_seats(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, best=2)
    assert len(booking.seat_labels) == 2
    seats = showtime.auditorium.seats.filter(label__in=booking.seat_labels)
    assert {seat.row for seat in seats} == {seats[0].row}
    assert sorted(seat.x for seat in seats)[1] - sorted(seat.x for seat in seats)[0] == 1


def test_pay_confirms_issues_tickets_and_releases_the_hold(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"])
    paid = pay(booking, card="4242424242424242")
    assert paid.status == Booking.Status.CONFIRMED
    assert paid.payment_ref.startswith("ch_")
    assert sorted(t.seat.label for t in Ticket.objects.filter(booking=paid)) == ["A3", "A4"]
    payment = Payment.objects.get(booking=paid)
    assert (payment.status, payment.charge) == (Payment.Status.SUCCEEDED, paid.payment_ref)
    assert _held(showtime) == {}
    assert _states(showtime)["A3"] == "booked"


def test_second_payment_is_idempotent(showtime, user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    buyer = Client()
    buyer.force_login(user)
    again = buyer.post(f"/bookings/{booking.ref}/pay/")
    assert again.status_code == 303
    assert again["Location"] == booking.get_absolute_url(), "no second trip to the gateway"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert Payment.objects.count() == 1
    assert MockSession.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_a_declined_card_leaves_the_booking_pending_with_its_hold(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    buyer = Client()
    url = start_paying(booking)
    declined = pay_on_gateway(buyer, url, card=DECLINED_CARD)
    assert declined.status_code == 402
    assert "declined" in declined.text
    deliver_webhooks(buyer)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    assert not Ticket.objects.exists()
    assert booking.payments.get().status == Payment.Status.OPEN, "nothing was taken"
    assert _held(showtime) == {"A3": booking.hold_token}
    pay_on_gateway(buyer, url)
    deliver_webhooks(buyer)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_paying_after_the_hold_is_lost_charges_nothing(showtime, user, redis_db):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    redis_db.flushdb()
    with pytest.raises(HoldLost, match="Nothing was charged"):
        start_paying(booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not Payment.objects.exists() and not Ticket.objects.exists()


def test_extend_renews_the_hold_up_to_the_cap(showtime, user, settings):
    settings.HOLD_TTL_SECONDS = 30
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    before = booking.expires_at
    for _ in range(settings.HOLD_MAX_EXTENSIONS):
        booking = services.extend_hold(booking=booking)
    assert booking.expires_at >= before
    with pytest.raises(BookingClosed, match="extended as far as it can go"):
        services.extend_hold(booking=booking)


def test_extend_fails_once_the_hold_is_gone(showtime, user, redis_db):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    redis_db.flushdb()
    with pytest.raises(HoldLost):
        services.extend_hold(booking=booking)


def test_cancel_releases_a_pending_hold(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.cancel_booking(booking=booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert _held(showtime) == {}


def test_cancel_refunds_a_confirmed_booking_and_frees_its_seats(showtime, user, bob):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    refund = services.cancel_booking(booking=booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not Ticket.objects.exists()
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert [Refund.objects.get()] == refund.refunds
    assert (refund.amount, refund.status) == (booking.amount, Refund.Status.SUCCEEDED)
    assert _states(showtime)["A3"] == "available"
    assert services.hold_seats(user=bob, showtime=showtime, labels=["A3"]).seat_labels == ["A3"]


def test_a_cancelled_booking_cannot_be_paid(showtime, user):
    booking = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.cancel_booking(booking=booking)
    with pytest.raises(BookingClosed):
        start_paying(booking)
    assert not Payment.objects.exists()


def test_sweeper_expires_timed_out_and_vanished_holds_only(showtime, user, bob, redis_db):
    timed_out = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    live = services.hold_seats(user=bob, showtime=showtime, labels=["B3"])
    Booking.objects.filter(pk=timed_out.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = services.expire_stale_bookings()
    assert [b.pk for b in expired] == [timed_out.pk]
    assert _held(showtime) == {"B3": live.hold_token}
    redis_db.delete(holds.seat_key(showtime.pk, "B3"))
    assert [b.pk for b in services.expire_stale_bookings()] == [live.pk]
    assert set(Booking.objects.values_list("status", flat=True)) == {"expired"}


def test_hold_requests_are_rate_limited(showtime, user, settings):
    settings.RATE_LIMITS = {"hold": (2, 60), "release": (2, 60)}
    services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    services.hold_seats(user=user, showtime=showtime, labels=["A4"])
    with pytest.raises(RateLimited):
        services.hold_seats(user=user, showtime=showtime, labels=["A5"])
    assert set(_held(showtime)) == {"A4"}
