"""A customer moves a paid booking to other seats or another showtime of the same film: the new
seats are held first, the difference is paid or refunded, and the old tickets give way to new
ones all at once (bookings.services.exchanging)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from bookings import checkout, services
from bookings.errors import (
    BookingClosed,
    ExchangeEnded,
    HoldLimitReached,
    HoldLost,
    InvalidRequest,
    SeatsUnavailable,
)
from bookings.models import Booking, Payment, Refund, Ticket, VoidTicket
from cinema.models import Movie, Showtime, TicketPrice, TicketType
from cinema.plans import get_plan
from cinema.services import one_price_list, schedule_showtime
from conftest import deliver_webhooks, pay, pay_on_gateway, start_paying, verified_user
from payments.mock.models import MockRefund, MockSession
from seats import holds
from seats.seatmap import read_seat_states
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buyer(db):
    return verified_user("ann")


@pytest.fixture
def paid(buyer, showtime):
    """Ann's paid booking of A3 and A4 at 10.00 each."""
    booking = services.hold_seats(user=buyer, showtime=showtime, labels=["A3", "A4"])
    return pay(booking)


def another_showtime(showtime: Showtime, *, price: str, movie: Movie | None = None) -> Showtime:
    return schedule_showtime(
        movie=movie or showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(hours=3),
        price_list=one_price_list(Decimal(price)),
    )


def sold_and_held(showtime: Showtime) -> tuple[set[str], set[str]]:
    states = read_seat_states(showtime=showtime, plan=get_plan(showtime.auditorium))
    return states.booked, set(states.held)


def test_an_exchange_at_the_same_price_moves_the_tickets_and_no_money(buyer, paid, showtime):
    old_secrets = set(paid.tickets.values_list("secret", flat=True))

    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    assert (new.status, new.amount, new.exchange_of) == ("pending", Decimal("0.00"), paid)
    paid.refresh_from_db()
    assert paid.status == "confirmed", "nothing changes until the exchange is confirmed"
    assert services.exchange_difference(new) == 0

    services.confirm_exchange(booking=new)

    new.refresh_from_db()
    paid.refresh_from_db()
    assert (paid.status, new.status) == ("exchanged", "confirmed")
    tickets = Ticket.objects.filter(showtime=showtime)
    assert sorted(ticket.seat.label for ticket in tickets) == ["B3", "B4"]
    assert {ticket.booking_id for ticket in tickets} == {new.pk}
    assert not old_secrets & set(tickets.values_list("secret", flat=True)), "new codes"
    voided = VoidTicket.objects.filter(booking_ref=paid.ref)
    assert set(voided.values_list("secret", flat=True)) == old_secrets
    assert set(voided.values_list("reason", flat=True)) == {"exchanged"}
    assert Payment.objects.count() == 1 and not Refund.objects.exists()
    assert sold_and_held(showtime) == ({"B3", "B4"}, set())
    assert holds.held_labels(showtime_id=showtime.pk, labels=["A3", "A4"]) == {}
    exchanged = AuditEvent.objects.get(kind="booking_exchanged")
    assert (exchanged.booking_ref, exchanged.seats) == (paid.ref, ["A3", "A4"])
    assert exchanged.detail["to"] == new.ref
    confirmed = AuditEvent.objects.get(kind="booking_confirmed", booking_ref=new.ref)
    assert confirmed.detail["exchanged_from"] == paid.ref
    assert confirmed.detail["email"] == buyer.email, "the new tickets are emailed"
    assert AuditEvent.objects.filter(kind="exchange_started", booking_ref=paid.ref).count() == 1


def test_an_exchange_to_a_cheaper_showtime_refunds_the_difference(buyer, paid, showtime):
    cheaper = another_showtime(showtime, price="8.00")

    new = services.start_exchange(booking=paid, user=buyer, showtime=cheaper, labels=["C3", "C5"])
    assert services.exchange_difference(new) == Decimal("-4.00")
    assert new.amount == 0
    services.confirm_exchange(booking=new)

    refund = Refund.objects.get()
    assert (refund.amount, refund.status) == (Decimal("4.00"), "succeeded")
    assert refund.payment.booking == paid
    assert MockRefund.objects.count() == 1
    assert sold_and_held(showtime) == (set(), set())
    assert sold_and_held(cheaper) == ({"C3", "C5"}, set())
    assert sum(Ticket.objects.values_list("price", flat=True)) == Decimal("16.00")


def test_an_exchange_to_a_dearer_showtime_is_completed_when_the_difference_is_paid(
    buyer, paid, showtime
):
    dearer = another_showtime(showtime, price="12.50")

    new = services.start_exchange(booking=paid, user=buyer, showtime=dearer, labels=["A3", "A4"])
    assert new.amount == Decimal("5.00")
    with pytest.raises(InvalidRequest):
        services.confirm_exchange(booking=new)

    new = pay(new)

    paid.refresh_from_db()
    assert (paid.status, new.status) == ("exchanged", "confirmed")
    assert list(Payment.objects.filter(booking=new).values_list("amount", "status")) == [
        (Decimal("5.00"), "succeeded")
    ]
    assert not Refund.objects.exists()
    assert sold_and_held(showtime) == (set(), set())
    assert sold_and_held(dearer) == ({"A3", "A4"}, set())


def test_a_booking_exchanged_twice_is_refunded_in_full_from_both_payments(buyer, paid, showtime):
    dearer = another_showtime(showtime, price="12.00")
    new = pay(
        services.start_exchange(booking=paid, user=buyer, showtime=dearer, labels=["B1", "B2"])
    )
    again = services.start_exchange(booking=new, user=buyer, showtime=dearer, labels=["C3", "C5"])
    services.confirm_exchange(booking=again)

    services.cancel_booking(booking=again)

    refunds = sorted(Refund.objects.values_list("amount", "status"))
    assert refunds == [(Decimal("4.00"), "succeeded"), (Decimal("20.00"), "succeeded")]
    assert sold_and_held(dearer) == (set(), set())


def test_an_exchange_keeps_each_tickets_type(buyer, showtime):
    child = TicketType.objects.create(name="Child")
    TicketPrice.objects.create(price_list=showtime.price_list, ticket_type=child, price=6)
    booking = services.hold_seats(user=buyer, showtime=showtime, labels=["A3", "A4"])
    checkout.choose_tickets(booking=booking, choices={"A4": str(child.pk)})
    paid = pay(Booking.objects.get(pk=booking.pk))

    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B4", "B5"])

    assert [(line["seat"], line["type_name"]) for line in new.lines] == [
        ("B4", "Adult"),
        ("B5", "Child"),
    ]
    assert new.amount == 0


def test_the_new_seats_are_held_with_every_rule_of_a_hold(buyer, paid, showtime, settings):
    rival = verified_user("bob")
    services.hold_seats(user=rival, showtime=showtime, labels=["B3", "B4"])
    with pytest.raises(SeatsUnavailable) as taken:
        services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B4", "B5"])
    assert taken.value.conflicts == ["B4"]

    with pytest.raises(SeatsUnavailable):
        services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["A4", "A5"])

    settings.MAX_SEATS_HELD_PER_ACCOUNT = 1
    other = another_showtime(showtime, price="10.00")
    services.hold_seats(user=buyer, showtime=other, labels=["A1"])
    later = another_showtime(other, price="10.00")
    with pytest.raises(HoldLimitReached):
        services.start_exchange(booking=paid, user=buyer, showtime=later, labels=["A1", "A2"])
    assert Booking.objects.filter(exchange_of=paid).count() == 0


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["B3"], "Pick 2 seats"),
        (["B3", "B4", "B5"], "Pick 2 seats"),
        (["Z9", "B4"], "no seat Z9"),
    ],
)
def test_a_wrong_selection_is_refused_with_nothing_held(buyer, paid, showtime, labels, message):
    with pytest.raises(InvalidRequest, match=message):
        services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=labels)
    assert sold_and_held(showtime) == ({"A3", "A4"}, set())


def test_only_a_paid_booking_of_the_same_film_before_the_cut_off_is_exchanged(
    buyer, paid, showtime
):
    other_film = another_showtime(
        showtime,
        price="10.00",
        movie=Movie.objects.create(title="Other", slug="other", runtime_minutes=90),
    )
    with pytest.raises(InvalidRequest, match="same film"):
        services.start_exchange(booking=paid, user=buyer, showtime=other_film, labels=["A1", "A2"])

    with pytest.raises(InvalidRequest, match="not one of your"):
        services.start_exchange(
            booking=paid, user=verified_user("eve"), showtime=showtime, labels=["B1", "B2"]
        )

    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() + timedelta(hours=1))
    paid.showtime.refresh_from_db()
    with pytest.raises(BookingClosed, match="hours before the show"):
        services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B1", "B2"])

    pending = services.hold_seats(user=verified_user("bob"), showtime=showtime, labels=["C3"])
    with pytest.raises(BookingClosed, match="only a paid booking"):
        services.check_exchangeable(pending)


def test_an_exchange_whose_hold_ran_out_changes_nothing(buyer, paid, showtime):
    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    holds.release(showtime_id=showtime.pk, labels=new.seat_labels, token=new.hold_token)

    with pytest.raises(HoldLost):
        services.confirm_exchange(booking=new)

    new.refresh_from_db()
    paid.refresh_from_db()
    assert (paid.status, new.status) == ("confirmed", "expired")
    assert sold_and_held(showtime) == ({"A3", "A4"}, set())


def test_an_exchange_of_a_booking_cancelled_meanwhile_ends(buyer, paid, showtime):
    new = services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    services.cancel_booking(booking=paid)

    with pytest.raises(ExchangeEnded):
        services.confirm_exchange(booking=new)

    new.refresh_from_db()
    assert new.status == "expired"
    assert sold_and_held(showtime) == (set(), set())
    assert Refund.objects.get().amount == Decimal("20.00"), "the cancellation's refund only"


def test_a_dearer_exchange_paid_after_its_booking_was_cancelled_is_paid_back(
    buyer, paid, showtime, client
):
    dearer = another_showtime(showtime, price="11.00")
    new = services.start_exchange(booking=paid, user=buyer, showtime=dearer, labels=["B3", "B4"])
    page = start_paying(new)
    services.cancel_booking(booking=paid)  # in another window, while paying

    pay_on_gateway(client, page)
    deliver_webhooks(client)

    new.refresh_from_db()
    assert new.status == "expired"
    refunds = dict(Refund.objects.values_list("payment__booking", "amount"))
    assert refunds == {paid.pk: Decimal("20.00"), new.pk: Decimal("2.00")}
    assert MockRefund.objects.count() == 2
    assert sold_and_held(dearer) == (set(), set())
    assert not Ticket.objects.exists()


@POSTGRES_ONLY
def test_confirming_an_exchange_as_its_booking_is_cancelled_keeps_one_of_them_paid_once(
    buyer, showtime
):
    """Four customers each confirm a cheaper exchange and cancel the booking it replaces at the
    same moment: whichever wins, the money the gateway kept is what the standing tickets are
    worth, and every seat is either sold to a standing ticket or free."""
    cheaper = another_showtime(showtime, price="8.00")
    pairs = []
    # Each a block between aisles, so no pick leaves a lone seat.
    blocks = [[f"{row}{n}" for n in numbers] for row in "AB" for numbers in ((1, 2), (3, 4, 5, 6))]
    for n, labels in enumerate(blocks):
        user = verified_user(f"swapper{n}")
        paid = pay(services.hold_seats(user=user, showtime=showtime, labels=labels))
        new = services.start_exchange(booking=paid, user=user, showtime=cheaper, labels=labels)
        pairs.append((paid, new))

    def act(item):
        kind, n = item
        paid, new = pairs[n]
        if kind == "confirm":
            return services.confirm_exchange(booking=new).status
        return services.cancel_booking(booking=paid).amount

    at_once(act, [(kind, n) for n in range(len(pairs)) for kind in ("confirm", "cancel")])

    for paid, new in pairs:
        paid.refresh_from_db()
        new.refresh_from_db()
        assert (paid.status, new.status) in {
            ("exchanged", "confirmed"),  # then the cancel found nothing paid to cancel
            ("cancelled", "expired"),  # then the exchange found its booking gone
        }, (paid.status, new.status)
    kept = sum(MockSession.objects.filter(status="paid").values_list("amount", flat=True))
    back = sum(MockRefund.objects.values_list("amount", flat=True))
    assert kept - back == sum(Ticket.objects.values_list("price", flat=True))
    assert not Refund.objects.filter(status="requested").exists()
    for where in (showtime, cheaper):
        booked, held = sold_and_held(where)
        assert booked == set(
            Ticket.objects.filter(showtime=where).values_list("seat__label", flat=True)
        )
        assert held == set()


def test_a_booking_with_tickets_passed_on_is_not_exchanged(buyer, paid, showtime):
    services.pass_on_tickets(booking=paid, labels=["A4"], email="dee@example.com")

    with pytest.raises(BookingClosed, match="passed on"):
        services.start_exchange(booking=paid, user=buyer, showtime=showtime, labels=["B3", "B4"])
    assert sold_and_held(showtime) == ({"A3", "A4"}, set())


def test_cancelling_a_booking_paid_twice_tells_the_whole_amount_going_back(
    buyer, paid, showtime, client
):
    dearer = another_showtime(showtime, price="12.00")
    new = pay(
        services.start_exchange(booking=paid, user=buyer, showtime=dearer, labels=["B1", "B2"])
    )
    client.force_login(buyer)

    response = client.post(f"/bookings/{new.ref}/cancel/", follow=True)

    assert "£24.00 is on its way back to your card" in response.text
    assert sum(Refund.objects.values_list("amount", flat=True)) == Decimal("24.00")


def test_a_cancelled_screening_refunds_a_booking_paid_twice_in_full_and_says_so(
    buyer, paid, showtime, client
):
    from bookings.models import ChangeNotice
    from bookings.services import access_changes

    dearer = another_showtime(showtime, price="12.00")
    new = pay(
        services.start_exchange(booking=paid, user=buyer, showtime=dearer, labels=["B1", "B2"])
    )
    access_changes.cancel_showtime(showtime=dearer, actor=None)
    notice = ChangeNotice.objects.get(booking=new)
    client.force_login(buyer)

    answer = client.post(access_changes.choice_path(notice, "refund"), follow=True)

    assert "refunded in full: £24.00 goes back to you" in answer.text
    assert sum(Refund.objects.values_list("amount", flat=True)) == Decimal("24.00")
