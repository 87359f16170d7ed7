"""A hold never leaves one free seat alone between the picked seats and a taken seat (or between
picked seats), unless every block of as many seats in that run of free seats would.

The conftest hall: A  ss|ssss|ss (A3-A6 side by side between aisles)."""

import pytest

from api.tests.problems import assert_problem
from bookings import services
from bookings.errors import LoneSeat
from bookings.models import Booking

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("others", "picked", "lone"),
    [
        (["A3"], ["A5"], "A4"),  # between a held seat and the pick
        (["A3"], ["A5", "A6"], "A4"),  # A4-A5 would leave none alone
        ([], ["A3", "A5"], "A4"),  # between two picked seats
    ],
)
def test_a_hold_that_leaves_a_seat_alone_is_refused_naming_it(
    showtime, user, bob, others, picked, lone
):
    if others:
        services.hold_seats(user=bob, showtime=showtime, labels=others)

    with pytest.raises(LoneSeat) as refused:
        services.hold_seats(user=user, showtime=showtime, labels=picked)

    assert refused.value.message == (
        f"That would leave {lone} on its own: pick it too or move one seat along."
    )
    assert not Booking.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("others", "picked"),
    [
        ([], ["A4", "A5"]),  # a seat by an aisle is not alone: it is an aisle seat
        (["A3"], ["A4"]),
        (["A3", "A6"], ["A4"]),  # A4 or A5: either leaves the other alone, no way round it
        (["A3", "A6"], ["A4", "A5"]),
    ],
)
def test_holds_that_leave_no_seat_alone_or_cannot_avoid_it_are_held(
    showtime, user, bob, others, picked
):
    if others:
        services.hold_seats(user=bob, showtime=showtime, labels=others)
    assert services.hold_seats(user=user, showtime=showtime, labels=picked).seat_labels == picked


def test_the_buyers_own_seats_being_replaced_do_not_count_as_taken(showtime, user):
    services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    assert services.hold_seats(user=user, showtime=showtime, labels=["A5", "A6"]).seat_labels == [
        "A5",
        "A6",
    ]


def test_the_page_and_the_api_refuse_with_the_same_answer(client, showtime, user, bob):
    services.hold_seats(user=bob, showtime=showtime, labels=["A3"])
    client.force_login(user)

    page = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A5"]})
    api = client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds", {"seats": ["A5"]}, content_type="application/json"
    )

    assert page.status_code == 409
    assert "That would leave A4 on its own" in page.text
    assert_problem(api, 409, "lone_seat")
