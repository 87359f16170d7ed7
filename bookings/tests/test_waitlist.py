"""A sold-out showtime's waiting list: joining, leaving, offers in order, lapses, claims."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from audit.models import AuditEvent
from audit.notifier import Notifier
from bookings import services
from bookings.errors import (
    AlreadyWaiting,
    HoldLost,
    InvalidRequest,
    NotWaiting,
    SeatsAvailable,
    SeatsUnavailable,
    VerificationRequired,
)
from bookings.models import Booking, WaitlistEntry
from bookings.selectors import waitlist_entry
from bookings.services.waitlist import choose_seats, offer_until
from cinema.models import Auditorium, Showtime
from cinema.plans import get_plan
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from conftest import open_waiting_room, pay, verified_user
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)

Status = WaitlistEntry.Status


def _entry(user, showtime) -> WaitlistEntry:
    return WaitlistEntry.objects.get(waitlist_id=showtime.pk, user=user)


def _held(showtime) -> dict[str, str]:
    return holds.held_labels(showtime_id=showtime.pk, labels=["A1", "A2", "A3", "A4"])


def _kinds(showtime) -> list[str]:
    kinds = AuditEvent.objects.filter(showtime_id=showtime.pk, kind__startswith="waitlist_")
    return list(kinds.order_by("id").values_list("kind", flat=True))


def test_only_a_sold_out_showtime_can_be_joined_once_per_account(tiny, full, user, bob):
    services.cancel_booking(booking=full)
    with pytest.raises(SeatsAvailable, match="pick them on the seat map"):
        services.join_waitlist(user=user, showtime=tiny, seats=4)
    services.hold_seats(user=verified_user("dan"), showtime=tiny, labels=["A1", "A2"])
    # Two free, four wanted: fewer free than asked.
    services.join_waitlist(user=user, showtime=tiny, seats=4)
    with pytest.raises(AlreadyWaiting):
        services.join_waitlist(user=user, showtime=tiny, seats=3)
    services.join_waitlist(user=bob, showtime=tiny, seats=3)
    assert [waitlist_entry(user=u, showtime=tiny).place for u in (user, bob)] == [1, 2]
    services.leave_waitlist(user=user, showtime=tiny)
    assert waitlist_entry(user=bob, showtime=tiny).place == 1
    with pytest.raises(NotWaiting):
        services.leave_waitlist(user=user, showtime=tiny)
    # Back at the end of the list after leaving.
    services.join_waitlist(user=user, showtime=tiny, seats=4)
    assert waitlist_entry(user=user, showtime=tiny).place == 2
    assert _kinds(tiny) == ["waitlist_joined"] * 2 + ["waitlist_left", "waitlist_joined"]


@pytest.mark.parametrize(
    ("seats", "categories", "message"),
    [(0, [], "1 to 10"), (11, [], "1 to 10"), (2, ["vip"], "no seats of the kind")],
)
def test_bad_wishes_are_refused(tiny, full, user, seats, categories, message):
    with pytest.raises(InvalidRequest, match=message):
        services.join_waitlist(user=user, showtime=tiny, seats=seats, categories=categories)


def test_an_unconfirmed_address_cannot_join(tiny, full, db):
    from django.contrib.auth import get_user_model

    stranger = get_user_model().objects.create_user("eve", "eve@example.com", "pw-pw-pw-pw")
    with pytest.raises(VerificationRequired):
        services.join_waitlist(user=stranger, showtime=tiny, seats=1)
    assert not WaitlistEntry.objects.exists()


def test_offers_go_in_order_and_lapse_to_the_next(tiny, full, user, bob):
    dan = verified_user("dan")
    for customer in (user, bob, dan):
        services.join_waitlist(user=customer, showtime=tiny, seats=2)

    services.cancel_booking(booking=full)

    ann_entry, bob_entry = _entry(user, tiny), _entry(bob, tiny)
    assert [ann_entry.status, bob_entry.status, _entry(dan, tiny).status] == [
        Status.OFFERED,
        Status.OFFERED,
        Status.WAITING,
    ]
    assert ann_entry.booking.seat_labels == ["A1", "A2"]
    assert bob_entry.booking.seat_labels == ["A3", "A4"]
    assert _held(tiny) == {
        "A1": ann_entry.booking.hold_token,
        "A2": ann_entry.booking.hold_token,
        "A3": bob_entry.booking.hold_token,
        "A4": bob_entry.booking.hold_token,
    }
    claim_window = ann_entry.offered_until - timezone.now()
    assert timedelta(minutes=29) < claim_window <= timedelta(minutes=30)
    assert waitlist_entry(user=dan, showtime=tiny).place == 1

    # Ann lets hers lapse: Dan, next in line, gets the same seats.
    Booking.objects.filter(pk=ann_entry.booking_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.expire_stale_bookings()
    dan_entry = _entry(dan, tiny)
    assert _entry(user, tiny).status == Status.LAPSED
    assert dan_entry.status == Status.OFFERED
    assert dan_entry.booking.seat_labels == ["A1", "A2"]
    assert _held(tiny)["A1"] == dan_entry.booking.hold_token

    # Bob claims his: paid, sold to him.
    assert pay(bob_entry.booking).status == Booking.Status.CONFIRMED
    assert _entry(bob, tiny).status == Status.CLAIMED
    assert _kinds(tiny) == [
        *["waitlist_joined"] * 3,
        *["waitlist_offered"] * 2,
        "waitlist_lapsed",
        "waitlist_offered",
        "waitlist_claimed",
    ]


def test_an_offers_seats_are_sold_to_nobody_else_and_freed_when_it_lapses(tiny, full, user, bob):
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.cancel_booking(booking=full)
    offer = _entry(user, tiny).booking
    # The two seats nobody waits for are on sale; the offered ones are not.
    with pytest.raises(SeatsUnavailable) as refused:
        services.hold_seats(user=bob, showtime=tiny, labels=["A1", "A3"])
    assert refused.value.conflicts == ["A1"]
    assert services.hold_seats(user=bob, showtime=tiny, best=2).seat_labels == ["A3", "A4"]
    # Extending (as paying does) never cuts the claim window down to one hold period.
    services.start_payment(booking=offer, return_url="http://testserver/", cancel_url="/")
    offer.refresh_from_db()
    assert offer.expires_at == _entry(user, tiny).offered_until

    Booking.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.expire_stale_bookings()
    assert _entry(user, tiny).status == Status.LAPSED
    assert set(_held(tiny)) == {"A3", "A4"}


def test_an_offer_is_emailed_with_a_link_to_checkout(tiny, full, user, mailoutbox):
    services.join_waitlist(user=user, showtime=tiny, seats=1)
    services.cancel_booking(booking=full)
    offer = _entry(user, tiny).booking
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.WAITLIST_OFFERED)
    assert Notifier(consumer="t").handle(event.as_message())
    (email,) = mailoutbox
    assert email.to == ["ann@example.com"]
    assert "Seats for Test Film are yours to claim until" in email.subject
    assert f"/bookings/{offer.ref}/" in email.body


def test_no_entry_is_passed_over_for_a_later_one(tiny, full, user, bob):
    """Three want 3, 1 and 2 seats; the four seats coming back go to the first two in order,
    and the third, which fits none left, waits."""
    dan = verified_user("dan")
    for customer, seats in ((user, 3), (bob, 1), (dan, 2)):
        services.join_waitlist(user=customer, showtime=tiny, seats=seats)
    services.cancel_booking(booking=full)
    assert [_entry(u, tiny).status for u in (user, bob, dan)] == [
        Status.OFFERED,
        Status.OFFERED,
        Status.WAITING,
    ]
    assert _entry(user, tiny).booking.seat_labels == ["A1", "A2", "A3"]
    assert _entry(bob, tiny).booking.seat_labels == ["A4"]


def test_a_paused_list_offers_nothing_until_resumed(tiny, full, user, staff_user):
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.pause_waitlist(showtime=tiny, paused=True, actor=staff_user)
    services.cancel_booking(booking=full)
    assert _entry(user, tiny).status == Status.WAITING
    assert _held(tiny) == {}
    services.pause_waitlist(showtime=tiny, paused=False, actor=staff_user)
    assert _entry(user, tiny).status == Status.OFFERED
    paused, offered = ["waitlist_paused"] * 2, ["waitlist_offered"]
    assert _kinds(tiny) == ["waitlist_joined", *paused, *offered]


def test_the_sweeper_offers_seats_nobody_offered(tiny, full, user):
    """Seats freed while no offering ran (a process killed after its commit): the sweeper's
    pass offers them."""
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    holds.release(showtime_id=tiny.pk, labels=full.seat_labels, token=full.hold_token)
    Booking.objects.filter(pk=full.pk).update(status=Booking.Status.CANCELLED)
    assert _entry(user, tiny).status == Status.WAITING
    assert [entry.pk for entry in services.offer_waiting_lists()] == [_entry(user, tiny).pk]
    assert services.offer_waiting_lists() == []


def test_leaving_with_an_offer_passes_it_on(tiny, full, user, bob):
    services.join_waitlist(user=user, showtime=tiny, seats=4)
    services.join_waitlist(user=bob, showtime=tiny, seats=4)
    services.cancel_booking(booking=full)
    offer = _entry(user, tiny).booking
    services.leave_waitlist(user=user, showtime=tiny)
    offer.refresh_from_db()
    assert offer.status == Booking.Status.CANCELLED
    assert _entry(user, tiny).status == Status.LEFT
    assert _entry(bob, tiny).status == Status.OFFERED


def test_nothing_is_offered_past_the_cutoff(tiny, settings):
    settings.WAITLIST_CLAIM_MINUTES, settings.WAITLIST_CUTOFF_MINUTES = 30, 60
    now = timezone.now()
    tiny.starts_at = now + timedelta(minutes=75)
    assert offer_until(tiny, now) == now + timedelta(minutes=15)
    tiny.starts_at = now + timedelta(minutes=50)
    assert offer_until(tiny, now) is None


def test_seats_are_chosen_together_and_of_the_accepted_kinds(auditorium):
    plan = get_plan(auditorium)
    free = {"A1", "A2", "A4", "A5", "A6", "C1", "C2"}
    assert choose_seats(plan=plan, free=free, count=3) == ["A4", "A5", "A6"]
    assert choose_seats(plan=plan, free=free, count=4) == ["A1", "A2", "A4", "A5"]
    assert choose_seats(plan=plan, free=free, count=1, categories=["accessible"]) == ["C1"]
    assert choose_seats(plan=plan, free=free, count=2, categories=["accessible"]) is None


def test_the_showtime_page_joins_shows_the_place_and_leaves(client, tiny, full, user):
    path = f"/showtimes/{tiny.pk}/"
    assert client.post(f"{path}waitlist/", {"seats": "2"})["Location"].startswith("/accounts/")
    client.force_login(user)
    assert "This showtime is sold out." in client.get(path).content.decode()
    refused = client.post(f"{path}waitlist/", {"seats": "two"})
    assert refused.status_code == 400
    assert "Say how many seats you want." in refused.content.decode()
    assert client.post(f"{path}waitlist/", {"seats": "2"}).status_code == 303
    assert "You are number <strong>1</strong>" in client.get(path).content.decode()
    assert client.post(f"{path}waitlist/", {"seats": "1"}).status_code == 409
    assert "number 1 in line" in client.get("/bookings/").content.decode()
    assert client.post(f"{path}waitlist/leave/").status_code == 303
    assert client.post(f"{path}waitlist/leave/").status_code == 409


def test_an_offer_shows_on_my_bookings_and_the_showtime_with_its_checkout(client, tiny, full, user):
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.cancel_booking(booking=full)
    offer = _entry(user, tiny).booking
    client.force_login(user)
    for page in ("/bookings/", f"/showtimes/{tiny.pk}/"):
        html = client.get(page).content.decode()
        assert f'href="/bookings/{offer.ref}/">Claim them: go to checkout' in html
    checkout = client.get(f"/bookings/{offer.ref}/").content.decode()
    assert "came back from the waiting list" in checkout
    assert "More time" not in checkout


def test_only_staff_with_the_permission_see_and_pause_the_lists(client, tiny, full, user):
    """(By permission: a transactional test's database is emptied between tests, and with it the
    groups the migration made; accounts' walk of the staff pages covers the roles.)"""
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    client.force_login(user)
    assert client.get("/admin/bookings/waitlist/").status_code == 302
    cashier = verified_user("cashier", is_staff=True)
    client.force_login(cashier)
    assert client.get("/admin/bookings/waitlist/").status_code == 403
    cashier.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_waitlist", "change_waitlist"])
    )
    assert client.get(f"/admin/bookings/waitlist/{tiny.pk}/change/").status_code == 200
    response = client.post(
        "/admin/bookings/waitlist/", {"action": "pause", "_selected_action": [tiny.pk]}
    )
    assert response.status_code == 302
    assert _kinds(tiny)[-1] == "waitlist_paused"
    services.cancel_booking(booking=full)
    assert _entry(user, tiny).status == Status.WAITING


def test_an_offer_needs_no_turn_in_the_on_sale_waiting_room(tiny, full, user):
    """The room queues shoppers to pick seats; an offer's seats were picked for the customer,
    who waited their turn on the list, so they pay without being let in."""
    tiny = open_waiting_room(tiny)
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.cancel_booking(booking=full)
    assert pay(_entry(user, tiny).booking).status == Booking.Status.CONFIRMED
    assert _entry(user, tiny).status == Status.CLAIMED


def _sold_out_hall(movie, layout: str):
    """A showtime of a one-row hall laid out so, its first three seats held by one buyer."""
    hall = save_auditorium(auditorium=Auditorium(name="Row", layout=layout))
    showtime = schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )
    services.hold_seats(user=verified_user("carol"), showtime=showtime, labels=["A1", "A2", "A3"])
    return showtime


def test_a_seat_staff_unblock_is_offered_at_once(movie, user):
    showtime = _sold_out_hall(movie, "A  sssx\n")
    services.join_waitlist(user=user, showtime=showtime, seats=1)
    hall = showtime.auditorium
    hall.layout = "A  ssss\n"
    save_auditorium(auditorium=hall)
    assert _entry(user, showtime).status == Status.OFFERED
    assert _entry(user, showtime).booking.seat_labels == ["A4"]


def test_seats_staff_release_are_offered_at_once(tiny, user, bob, staff_user):
    # A hold no booking owns (a process killed before writing it), and a buyer's.
    holds.hold(showtime_id=tiny.pk, labels=["A1", "A2"], token="lost", ttl_seconds=600)
    held = services.hold_seats(user=verified_user("dan"), showtime=tiny, labels=["A3", "A4"])
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.join_waitlist(user=bob, showtime=tiny, seats=2)
    services.staff_release_hold(showtime=tiny, token=held.hold_token, actor=staff_user)
    assert _entry(user, tiny).booking.seat_labels == ["A3", "A4"]
    services.staff_release_hold(showtime=tiny, token="lost", actor=staff_user)
    assert _entry(bob, tiny).booking.seat_labels == ["A1", "A2"]


def test_seats_staff_refund_are_offered_at_once(tiny, full, user, staff_user):
    assert pay(full).status == Booking.Status.CONFIRMED
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    services.refund_tickets(booking=full, actor=staff_user, reason="staff", labels=["A3", "A4"])
    assert _entry(user, tiny).booking.seat_labels == ["A3", "A4"]


def test_places_kept_for_wheelchair_users_are_offered_only_once_released(movie, user, bob):
    showtime = _sold_out_hall(movie, "A  sssa\n")
    showtime.wheelchair_release_at = timezone.now() + timedelta(hours=1)
    showtime.save(update_fields=["wheelchair_release_at"])
    # The free wheelchair space is not for Ann: she waits, and is not offered it.
    services.join_waitlist(user=user, showtime=showtime, seats=1)
    services.offer_waiting_lists()
    assert _entry(user, showtime).status == Status.WAITING
    # Bob, who needs a wheelchair space, is told to pick it.
    with pytest.raises(SeatsAvailable):
        services.join_waitlist(user=bob, showtime=showtime, seats=1, categories=["accessible"])
    Showtime.objects.filter(pk=showtime.pk).update(
        wheelchair_release_at=timezone.now() - timedelta(seconds=1)
    )
    services.release_wheelchair_places()
    assert _entry(user, showtime).booking.seat_labels == ["A4"]


def _row_of_eight(movie):
    """A showtime of a hall with one row: six standard seats, then two premium ones."""
    hall = save_auditorium(auditorium=Auditorium(name="Eight", layout="A  sssssspp\n"))
    return schedule_showtime(
        movie=movie,
        auditorium=hall,
        starts_at=timezone.now() + timedelta(days=1),
        price_list=one_price_list(Decimal("10.00")),
    )


def test_an_offer_cut_to_fewer_seats_keeps_its_window_and_passes_the_rest_on(movie, user, bob):
    showtime = _row_of_eight(movie)
    first = services.hold_seats(user=verified_user("dan"), showtime=showtime, labels=["A1", "A2"])
    services.hold_seats(user=verified_user("eve"), showtime=showtime, labels=["A3", "A4", "A5"])
    services.hold_seats(user=verified_user("fay"), showtime=showtime, labels=["A6", "A7", "A8"])
    services.join_waitlist(user=user, showtime=showtime, seats=2)
    services.join_waitlist(user=bob, showtime=showtime, seats=1)
    services.cancel_booking(booking=first)
    offer = _entry(user, showtime).booking

    kept = services.hold_seats(user=user, showtime=showtime, labels=["A2"])
    assert (kept.pk, kept.hold_token) == (offer.pk, offer.hold_token)
    assert kept.expires_at == offer.expires_at == _entry(user, showtime).offered_until
    assert _entry(user, showtime).status == Status.OFFERED
    # The seat given back is the next one's at once.
    assert _entry(bob, showtime).booking.seat_labels == ["A1"]
    held = holds.held_labels(showtime_id=showtime.pk, labels=["A1", "A2"])
    assert held == {"A1": _entry(bob, showtime).booking.hold_token, "A2": offer.hold_token}


def test_an_offer_swapped_for_other_seats_is_held_a_hold_period_within_its_window(
    movie, user, bob, settings
):
    showtime = _row_of_eight(movie)
    first = services.hold_seats(user=verified_user("dan"), showtime=showtime, labels=["A1", "A2"])
    services.hold_seats(user=verified_user("eve"), showtime=showtime, labels=["A3", "A4"])
    services.hold_seats(user=verified_user("gus"), showtime=showtime, labels=["A5", "A6"])
    premium = services.hold_seats(user=verified_user("fay"), showtime=showtime, labels=["A7", "A8"])
    services.join_waitlist(user=user, showtime=showtime, seats=2)
    services.join_waitlist(user=bob, showtime=showtime, seats=2, categories=["standard"])
    services.cancel_booking(booking=first)
    offer = _entry(user, showtime).booking
    # The premium seats come back: Ann has her offer, Bob will not take them.
    services.cancel_booking(booking=premium)
    assert _entry(bob, showtime).status == Status.WAITING

    swapped = services.hold_seats(user=user, showtime=showtime, labels=["A7", "A8"])
    assert swapped.pk == offer.pk
    left = swapped.expires_at - timezone.now()
    assert timedelta(seconds=settings.HOLD_TTL_SECONDS - 5) < left
    assert left <= timedelta(seconds=settings.HOLD_TTL_SECONDS)
    # The offered seats she gave up went to the next in line at once.
    assert _entry(bob, showtime).booking.seat_labels == ["A1", "A2"]
    # Paying extends the hold, never past the claim window.
    services.start_payment(booking=swapped, return_url="http://testserver/", cancel_url="/")
    swapped.refresh_from_db()
    assert swapped.expires_at <= _entry(user, showtime).offered_until
    assert holds.owns(showtime_id=showtime.pk, labels=["A7", "A8"], token=offer.hold_token)
    assert pay(swapped).status == Booking.Status.CONFIRMED
    assert _entry(user, showtime).status == Status.CLAIMED


def test_a_showtime_staff_put_back_on_sale_offers_its_free_seats_at_once(tiny, full, user):
    services.join_waitlist(user=user, showtime=tiny, seats=2)
    tiny.on_sale = False
    tiny.save(update_fields=["on_sale"])
    services.cancel_booking(booking=full)
    assert _entry(user, tiny).status == Status.WAITING
    tiny.on_sale = True
    tiny.save(update_fields=["on_sale"])
    assert _entry(user, tiny).booking.seat_labels == ["A1", "A2"]


def test_an_offer_past_its_window_cannot_be_kept_by_picking_its_seats_again(movie, user):
    showtime = _sold_out_hall(movie, "A  ssss\n")
    # The show is so near that the offer's window is two seconds, to its cut-off.
    starts = timezone.now() + timedelta(minutes=30, seconds=2)
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=starts)
    showtime.refresh_from_db()
    services.join_waitlist(user=user, showtime=showtime, seats=2)
    services.cancel_booking(booking=Booking.objects.get(user__username="carol"))
    offer = _entry(user, showtime).booking
    assert offer.expires_at - timezone.now() < timedelta(seconds=3)
    # Past the window, before the sweeper lapses the offer.
    time.sleep((offer.expires_at - timezone.now()).total_seconds() + 0.2)
    with pytest.raises(HoldLost, match="next in line"):
        services.hold_seats(user=user, showtime=showtime, labels=offer.seat_labels[:1])
