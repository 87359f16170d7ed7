"""A showtime with both an on-sale waiting room and a waiting list: seats that come back go to
the list first, the room still decides who picks seats, and neither breaks the other."""

import pytest

from bookings import services
from bookings.errors import SeatsUnavailable, WaitingRoomRequired
from bookings.models import Booking, WaitlistEntry
from conftest import open_waiting_room, pay, verified_user
from seats import holds
from waitingroom import services as waiting_room

pytestmark = pytest.mark.django_db(transaction=True)


def _let_in(showtime, user) -> str:
    """Queue the user in the showtime's room and let them in: their pass."""
    member = f"u{user.pk}"
    entry = waiting_room.enter(showtime=showtime, member=member, token="", arrived_ms=None)
    waiting_room.admit_pass()
    return waiting_room.enter(
        showtime=showtime, member=member, token=entry.cookie, arrived_ms=None
    ).cookie


def test_the_list_offers_first_and_the_room_still_lets_shoppers_in(tiny, full, user, bob):
    tiny = open_waiting_room(tiny)
    # Joining the list takes no seats: no turn in the room is needed.
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    bob_pass = _let_in(tiny, bob)

    services.cancel_booking(booking=full)
    offer = WaitlistEntry.objects.get(user=user).booking
    assert offer.seat_labels == ["A1", "A2"]
    # The shopper the room let in meets the offer's seats as held, and buys the others.
    with pytest.raises(SeatsUnavailable) as refused:
        services.hold_seats(user=bob, showtime=tiny, labels=["A2", "A3"], admission=bob_pass)
    assert refused.value.conflicts == ["A2"]
    services.hold_seats(user=bob, showtime=tiny, labels=["A3", "A4"], admission=bob_pass)
    # Anyone else still queues first.
    with pytest.raises(WaitingRoomRequired):
        services.hold_seats(user=verified_user("dan"), showtime=tiny, labels=["A1"])

    # The customer with the offer keeps fewer of its seats without a turn in the room, but
    # picking others is shopping, which waits for one.
    with pytest.raises(WaitingRoomRequired):
        services.hold_seats(user=user, showtime=tiny, labels=["A2", "A3"])
    assert services.hold_seats(user=user, showtime=tiny, labels=["A2"]).pk == offer.pk
    assert holds.held_labels(showtime_id=tiny.pk, labels=["A1", "A2"]) == {"A2": offer.hold_token}

    # Paying for the offer needs no pass either, and leaves the room's shopper let in.
    assert pay(offer).status == Booking.Status.CONFIRMED
    assert WaitlistEntry.objects.get(user=user).status == WaitlistEntry.Status.CLAIMED
    assert waiting_room.admitted(showtime=tiny, user=bob, token=bob_pass)


def test_a_room_full_of_shoppers_is_no_reason_to_join_the_list(tiny, user):
    """Free seats are for the room's shoppers: the list is for a sold-out showtime, whoever
    queues for the room."""
    tiny = open_waiting_room(tiny)
    from bookings.errors import SeatsAvailable

    with pytest.raises(SeatsAvailable):
        services.join_waitlist(user=user, showtime=tiny, seats=2)
