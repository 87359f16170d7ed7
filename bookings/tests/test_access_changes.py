"""When a screening changes under its buyers: staff cancel it, move an access screening, or take
its access away; every buyer with a confirmed booking is told once, and may move to a screening
with the same access (seats together, no money moved) or take a full refund, past the cut-off,
through signed links that work once, for them only."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent, Notification
from audit.notifier import Notifier
from bookings import services
from bookings.errors import BookingClosed, ChangeAnswered, NoSameAccess
from bookings.models import (
    Booking,
    ChangeNotice,
    Payment,
    Refund,
    ScreeningChange,
    Ticket,
    VoidTicket,
)
from bookings.reconcile import reconcile_payments
from bookings.services import access_changes
from cinema.models import Showtime
from cinema.services import one_price_list, schedule_showtime
from conftest import pay, verified_user
from seats import holds
from seats.tests.test_consumers import _connect, _seats
from tests.concurrency import POSTGRES_ONLY, at_once
from tests.websocket import close_worker_connections  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

ACCESS = {"open_captions": True, "audio_described": True}


def _show(movie, auditorium, *, days: int, price: str = "10.00", **kinds) -> Showtime:
    showtime = schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=timezone.now() + timedelta(days=days),
        price_list=one_price_list(Decimal(price)),
    )
    Showtime.objects.filter(pk=showtime.pk).update(**kinds)
    showtime.refresh_from_db()
    return showtime


@pytest.fixture
def captioned(showtime):
    """The showtime (tomorrow) with open captions and audio description."""
    Showtime.objects.filter(pk=showtime.pk).update(**ACCESS)
    showtime.refresh_from_db()
    return showtime


@pytest.fixture
def same_access(movie, auditorium):
    """Another screening of the film with the same access, in two days, at a higher price."""
    return _show(movie, auditorium, days=2, price="15.00", **ACCESS)


@pytest.fixture
def plain(movie, auditorium):
    """Another screening of the film, in three days, without captions or audio description."""
    return _show(movie, auditorium, days=3)


@pytest.fixture
def ann_booking(captioned, user):
    return pay(services.hold_seats(user=user, showtime=captioned, labels=["A3", "A4"]))


@pytest.fixture
def bob_booking(captioned, bob):
    return pay(
        services.hold_seats(user=bob, showtime=captioned, labels=["C1", "C2"], wheelchair=True)
    )


# The Programming role's, by permission: a transactional test's database has lost the groups
# the migrations made (test_the_programming_role_may_cancel checks the role itself).
PROGRAMMING = ["view_showtime", "change_showtime", "cancel_showtime", "view_screeningchange"]


def _staff_with(codenames) -> tuple:
    staff = verified_user("prog", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return staff, client


@pytest.fixture
def programmer():
    return _staff_with([*PROGRAMMING, "view_changenotice"])


def _notice(booking) -> ChangeNotice:
    return ChangeNotice.objects.select_related("change", "booking").get(booking=booking)


def _signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def _told(**filters) -> list[AuditEvent]:
    kind = AuditEvent.Kind.SCREENING_CHANGE_TOLD
    return list(AuditEvent.objects.filter(kind=kind, **filters).order_by("id"))


def _emails(subject_start: str) -> list:
    return [email for email in mail.outbox if email.subject.startswith(subject_start)]


def test_a_cancellation_tells_every_buyer_once_however_often_it_is_told_or_sent(
    captioned, ann_booking, bob_booking, user, bob, settings
):
    carol = verified_user("carol")
    services.hold_seats(user=carol, showtime=captioned, labels=["B3"])  # paying, not bought
    staff = verified_user("prog", is_staff=True)
    change = access_changes.cancel_showtime(showtime=captioned, actor=staff, why="projector")
    assert access_changes.tell_buyers(change=change) == []
    with pytest.raises(BookingClosed, match="cancelled already"):
        access_changes.cancel_showtime(showtime=captioned, actor=staff)
    assert [event.booking_ref for event in _told()] == [ann_booking.ref, bob_booking.ref]
    assert ScreeningChange.objects.get().kind == ScreeningChange.Kind.CANCELLED
    cancelled = AuditEvent.objects.get(kind=AuditEvent.Kind.SHOWTIME_CANCELLED)
    assert (cancelled.actor, cancelled.detail["why"]) == (staff, "projector")
    assert cancelled.detail["access"] == ["open captions", "audio description"]

    mail.outbox.clear()
    notifier = Notifier(consumer="test", block_ms=1, min_idle_ms=60_000)
    notifier.run_once()
    notifier.run_once()
    notifier.send_missed(grace=timedelta(0))
    told = _emails("Cancelled: Test Film")
    assert sorted(email.to[0] for email in told) == sorted([user.email, bob.email])
    assert Notification.objects.filter(event__kind="screening_change_told").count() == 2
    (ann_email,) = [email for email in told if email.to == [user.email]]
    move, refund = re.findall(rf"{settings.SITE_URL}(/bookings/\S+/)\n", ann_email.body)
    assert move.startswith(f"/bookings/{ann_booking.ref}/changed/") and move.endswith("/move/")
    assert refund.endswith("/refund/")
    assert "we have had to cancel the screening you booked" in ann_email.body
    html, _ = ann_email.alternatives[0]
    assert f'href="{settings.SITE_URL}{move}"' in html


def test_a_cancelled_showtime_sells_nothing_more_and_leaves_the_listings(captioned, user, client):
    listed = f'href="/showtimes/{captioned.pk}/"'
    home = f"/?date={timezone.localdate(captioned.starts_at).isoformat()}"
    assert listed in client.get("/movies/test-film/").text and listed in client.get(home).text
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    assert listed not in client.get("/movies/test-film/").text
    assert listed not in client.get(home).text
    captioned.refresh_from_db()
    assert captioned.cancelled_at is not None and not captioned.on_sale
    with pytest.raises(BookingClosed, match="has been cancelled"):
        services.hold_seats(user=user, showtime=captioned, labels=["A1"])
    # Staff ticking "on sale" again does not undo a cancellation.
    Showtime.objects.filter(pk=captioned.pk).update(on_sale=True)
    captioned.refresh_from_db()
    with pytest.raises(BookingClosed, match="has been cancelled"):
        services.hold_seats(user=user, showtime=captioned, labels=["A1"])


def _change_form(client, showtime, starts_at):
    moved = timezone.localtime(starts_at).replace(microsecond=0)
    return client.post(
        f"/admin/cinema/showtime/{showtime.pk}/change/",
        {
            "movie": showtime.movie.pk,
            "auditorium": showtime.auditorium.pk,
            "starts_at_0": moved.strftime("%Y-%m-%d"),
            "starts_at_1": moved.strftime("%H:%M:%S"),
            "price_list": showtime.price_list.pk,
            "on_sale": "on",
            "format": showtime.format,
            **{name: "on" for name, value in ACCESS.items() if getattr(showtime, name)},
        },
    )


def test_moving_an_access_screening_tells_its_buyers_once_however_often_it_is_saved(
    captioned, plain, ann_booking, programmer, user
):
    staff, client = programmer
    plain_buyer = pay(services.hold_seats(user=verified_user("dan"), showtime=plain, labels=["A1"]))
    later = captioned.starts_at + timedelta(hours=3)
    for _ in range(2):  # saved twice, the second time with nothing changed
        assert _change_form(client, captioned, later).status_code == 302
    change = ScreeningChange.objects.get()
    assert (change.kind, change.actor, change.showtime_id) == ("moved", staff, captioned.pk)
    assert change.was_starts_at == captioned.starts_at
    assert change.access == ACCESS
    assert [event.booking_ref for event in _told()] == [ann_booking.ref]
    # A plain screening moved is an ordinary change: nobody is told by this.
    assert _change_form(client, plain, plain.starts_at + timedelta(hours=1)).status_code == 302
    assert ScreeningChange.objects.count() == 1
    assert not ChangeNotice.objects.filter(booking=plain_buyer).exists()

    mail.outbox.clear()
    Notifier(consumer="test", block_ms=1).run_once()
    (email,) = _emails("Moved: Test Film")
    assert email.to == [user.email]
    assert "has moved to another time (it was" in email.body


def test_taking_access_away_in_bulk_tells_the_buyers_what_is_gone(
    captioned, ann_booking, programmer
):
    _staff, client = programmer
    done = client.post(
        "/admin/cinema/showtime/",
        {
            "action": "set_kinds",
            "_selected_action": [captioned.pk],
            "apply": "yes",
            "audio_described": "no",
            "relaxed": "yes",
        },
    )
    assert done.status_code == 302
    change = ScreeningChange.objects.get()
    assert (change.kind, change.removed) == ("access_removed", ["audio description"])
    assert _told()[0].detail["removed"] == ["audio description"]
    # Adding access takes nothing from anyone.
    client.post(
        "/admin/cinema/showtime/",
        {
            "action": "set_kinds",
            "_selected_action": [captioned.pk],
            "apply": "yes",
            "seniors": "yes",
        },
    )
    assert ScreeningChange.objects.count() == 1
    mail.outbox.clear()
    Notifier(consumer="test", block_ms=1).run_once()
    (email,) = _emails("Changed: Test Film")
    assert "will no longer have audio description" in email.body


def test_a_buyer_moves_to_the_same_access_with_seats_together_and_no_money_moved(
    captioned, same_access, plain, ann_booking, bob_booking, user, bob
):
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    notice = _notice(ann_booking)
    choices = access_changes.move_choices(notice=notice)
    # Only the screening with the same access; the plain one is never offered.
    assert [choice.showtime for choice in choices] == [same_access]
    assert choices[0].labels in (["A3", "A4"], ["A4", "A5"], ["B3", "B4"], ["B4", "B5"])
    old_secrets = set(ann_booking.tickets.values_list("secret", flat=True))
    payments = Payment.objects.count()

    moved = access_changes.move_booking(notice=notice, to=same_access, user=user)

    assert moved.showtime == same_access and moved.status == Booking.Status.CONFIRMED
    tickets = list(Ticket.objects.filter(booking=moved).select_related("seat"))
    labels = [ticket.seat.label for ticket in tickets]
    assert sorted(labels) == sorted(moved.seat_labels) == sorted(choices[0].labels)
    assert {ticket.showtime_id for ticket in tickets} == {same_access.pk}
    # Kept what was paid: the dearer screening charges nothing more, nothing is refunded.
    assert [ticket.price for ticket in tickets] == [Decimal("10.00")] * 2
    assert moved.amount == Decimal("20.00") == sum(ticket.price for ticket in tickets)
    assert Payment.objects.count() == payments and not Refund.objects.exists()
    voided = VoidTicket.objects.filter(booking_ref=moved.ref)
    assert {void.secret for void in voided} == old_secrets
    assert {void.reason for void in voided} == {VoidTicket.Reason.MOVED}
    assert not Ticket.objects.filter(showtime=captioned, booking=moved).exists()
    # Redis follows: the old seats free, the new ones sold.
    assert holds.held_labels(showtime_id=captioned.pk, labels=["A3", "A4"]) == {}
    assert not holds.hold(
        showtime_id=same_access.pk, labels=labels, token="someone-else", ttl_seconds=60
    ).ok
    notice.refresh_from_db()
    assert (notice.choice, notice.moved_to) == ("moved", same_access)
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.BOOKING_MOVED)
    assert (event.actor, event.showtime_id, event.detail["from_seats"]) == (
        user,
        same_access.pk,
        ["A3", "A4"],
    )

    # The wheelchair user keeps a space with its companion beside it.
    bob_moved = access_changes.move_booking(notice=_notice(bob_booking), to=same_access, user=bob)
    assert sorted(bob_moved.seat_labels) in (["C1", "C2"], ["C7", "C8"])
    assert {t.category for t in bob_moved.tickets.all()} == {"accessible", "companion"}

    mail.outbox.clear()
    Notifier(consumer="test", block_ms=1).run_once()
    new_tickets = _emails("Your new tickets for Test Film")
    assert sorted(email.to[0] for email in new_tickets) == sorted([user.email, bob.email])
    attached = [name for name, _content, _type in new_tickets[0].attachments if name]
    assert any(name.endswith(".pdf") for name in attached)


def test_tickets_passed_on_move_with_the_booking_and_stay_their_receivers(
    captioned, same_access, ann_booking, user
):
    """The buyer moves a booking one of whose tickets they passed on: the receiver still holds a
    ticket, for the new screening, and is emailed its new code; the buyer's new tickets are the
    ones they kept."""
    dee = verified_user("dee")
    given = services.pass_on_tickets(booking=ann_booking, labels=["A3"], email=dee.email)
    taken_back = services.pass_on_tickets(booking=ann_booking, labels=["A4"], email="x@example.com")
    services.cancel_transfer(transfer=taken_back)
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    notice = _notice(ann_booking)
    (choice,) = access_changes.move_choices(notice=notice)
    mail.outbox.clear()

    moved = access_changes.move_booking(notice=notice, to=same_access, user=user)

    given.refresh_from_db()
    (theirs,) = given.tickets.select_related("seat")
    assert (theirs.showtime_id, theirs.booking_id) == (same_access.pk, moved.pk)
    assert given.seats == [theirs.seat.label] == [choice.labels[0]]
    (mine,) = [ticket.seat.label for ticket in moved.tickets.filter(transfer=None)]
    assert mine == choice.labels[1]
    taken_back.refresh_from_db()
    assert taken_back.seats == [choice.labels[1]]  # counts for the seat the ticket moved to
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PASSED_ON_MOVED)
    assert (event.detail["email"], event.seats, event.showtime_id) == (
        dee.email,
        [theirs.seat.label],
        same_access.pk,
    )
    Notifier(consumer="test", block_ms=1).run_once()
    (email,) = _emails("Your tickets for Test Film have moved to")
    assert email.to == [dee.email]
    assert "these are your tickets now" in email.body and theirs.seat.label in email.body
    attached = [name for name, _content, _type in email.attachments if name]
    assert f"tickets-{given.ref}.pdf" in attached
    (buyers,) = _emails("Your new tickets for Test Film")
    assert buyers.to == [user.email]


async def _told_until(viewer, states: dict[str, str]) -> bool:
    """Whether the viewer is told these seat states (a socket may be sent a check between)."""
    seen: dict[str, str] = {}
    while {label: seen.get(label) for label in states} != states:
        seen.update(_seats(await viewer.receive_from(timeout=5)))
    return True


async def test_a_move_updates_both_seat_maps_live(captioned, same_access, ann_booking, user):
    old_map = await _connect(captioned.pk)
    new_map = await _connect(same_access.pk)
    assert _seats(await old_map.receive_from())["A3"] == "booked"
    await new_map.receive_from()
    await sync_to_async(access_changes.cancel_showtime)(showtime=captioned, actor=None)
    notice = await sync_to_async(_notice)(ann_booking)
    moved = await sync_to_async(access_changes.move_booking)(
        notice=notice, to=same_access, user=user
    )
    assert await _told_until(old_map, dict.fromkeys(["A3", "A4"], "available"))
    assert await _told_until(new_map, dict.fromkeys(moved.seat_labels, "booked"))
    await old_map.disconnect()
    await new_map.disconnect()


def test_a_full_refund_even_past_the_refund_cut_off(captioned, ann_booking, user, settings):
    settings.REFUND_CUTOFF_HOURS = 48  # the show is tomorrow: a customer may not cancel now
    with pytest.raises(BookingClosed, match="can be cancelled up to 48 hours"):
        services.cancel_booking(booking=ann_booking)
    access_changes.cancel_showtime(showtime=captioned, actor=None)

    refund = access_changes.refund_changed_booking(notice=_notice(ann_booking), user=user)

    assert refund.amount == ann_booking.amount == Decimal("20.00")
    assert refund.status == Refund.Status.SUCCEEDED
    assert [each.reason for each in refund.refunds] == ["screening changed"]
    ann_booking.refresh_from_db()
    assert ann_booking.status == Booking.Status.CANCELLED and not ann_booking.tickets.exists()
    assert _notice(ann_booking).choice == ChangeNotice.Choice.REFUNDED
    mail.outbox.clear()
    Notifier(consumer="test", block_ms=1).run_once()
    assert [email.to for email in mail.outbox if "£20.00 refunded" in email.subject] == [
        [user.email]
    ]


def test_a_link_used_twice_or_by_someone_else_changes_nothing(
    captioned, same_access, ann_booking, bob_booking, user, bob
):
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    notice = _notice(ann_booking)
    move = access_changes.choice_path(notice, "move")
    refund = access_changes.choice_path(notice, "refund")
    ann, bob_client = _signed_in(user), _signed_in(bob)

    # Someone else, or a link altered or moved to another booking: not found.
    assert bob_client.get(move).status_code == 404
    assert bob_client.post(refund).status_code == 404
    assert ann.get(move.replace("/move/", "x/move/")).status_code == 404
    assert ann.get(move.replace(ann_booking.ref, bob_booking.ref)).status_code == 404

    page = ann.get(move)
    assert page.status_code == 200
    assert "Move to" in page.text and f'value="{same_access.pk}"' in page.text
    # The booking's page offers the same choices, for a buyer who lost the email.
    booking_page = ann.get(ann_booking.get_absolute_url()).text
    assert "This screening is cancelled." in booking_page
    assert f'href="{move}"' in booking_page and f'href="{refund}"' in booking_page
    done = ann.post(refund)
    assert done.status_code == 303 and done.url == ann_booking.get_absolute_url()
    again = ann.post(refund)
    assert again.status_code == 409 and "refunded already" in again.text
    moving = ann.post(move, {"showtime": same_access.pk})
    assert moving.status_code == 409 and "refunded already" in moving.text
    assert ann.get(move).status_code == 409
    assert "This screening is cancelled." not in ann.get(ann_booking.get_absolute_url()).text
    assert Refund.objects.count() == 1
    assert not Ticket.objects.filter(showtime=same_access).exists()
    with pytest.raises(ChangeAnswered):
        access_changes.move_booking(notice=notice, to=same_access, user=user)


def test_a_link_asks_a_signed_out_recipient_to_sign_in_and_every_post_needs_csrf(
    captioned, ann_booking, user
):
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    refund = access_changes.choice_path(_notice(ann_booking), "refund")
    signed_out = Client().get(refund)
    assert signed_out.status_code == 302
    assert signed_out.url.startswith("/accounts/login/?next=/bookings/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.get(refund).status_code == 200
    assert strict.post(refund).status_code == 403
    assert not Refund.objects.exists()


def test_with_no_screening_of_the_same_access_the_move_says_so_and_offers_the_refund(
    captioned, plain, ann_booking, user
):
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    notice = _notice(ann_booking)
    ann = _signed_in(user)
    move = access_changes.choice_path(notice, "move")
    page = ann.get(move)
    assert page.status_code == 200
    assert "There is no other screening of Test Film with open captions, audio description" in (
        page.text
    )
    assert f'action="{access_changes.choice_path(notice, "refund")}"' in page.text
    refused = ann.post(move, {"showtime": plain.pk})
    assert refused.status_code == 409 and "not one you can move to" in refused.text
    with pytest.raises(NoSameAccess):
        access_changes.move_booking(notice=notice, to=plain, user=user)
    ann_booking.refresh_from_db()
    assert ann_booking.showtime == captioned and ann_booking.tickets.count() == 2
    assert _notice(ann_booking).choice == ""


def test_programming_cancels_from_the_showtime_list_and_sees_who_chose_what(
    captioned, ann_booking, programmer, user
):
    _staff, client = programmer
    confirm = client.post(
        "/admin/cinema/showtime/", {"action": "cancel", "_selected_action": [captioned.pk]}
    )
    assert confirm.status_code == 200 and "Yes, cancel them" in confirm.text
    done = client.post(
        "/admin/cinema/showtime/",
        {"action": "cancel", "_selected_action": [captioned.pk], "apply": "yes", "why": "flood"},
    )
    assert done.status_code == 302
    captioned.refresh_from_db()
    assert captioned.cancelled_at is not None
    access_changes.refund_changed_booking(notice=_notice(ann_booking), user=user)
    change = ScreeningChange.objects.get()
    page = client.get(f"/admin/bookings/screeningchange/{change.pk}/change/")
    assert page.status_code == 200
    assert user.email in page.text and "Refunded in full" in page.text


def test_staff_without_the_cancel_permission_cannot_cancel(captioned):
    _editor, client = _staff_with(["view_showtime", "change_showtime"])
    client.post(
        "/admin/cinema/showtime/",
        {"action": "cancel", "_selected_action": [captioned.pk], "apply": "yes"},
    )
    captioned.refresh_from_db()
    assert captioned.cancelled_at is None
    assert not ScreeningChange.objects.exists()


@pytest.mark.django_db
def test_the_programming_role_may_cancel_and_both_it_and_box_office_see_the_changes():
    def codenames(role):
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    assert codenames("Programming") >= {"cancel_showtime", "view_screeningchange"}
    assert "view_screeningchange" in codenames("Box office")
    assert "cancel_showtime" not in codenames("Box office")


@POSTGRES_ONLY
def test_two_choices_posted_at_once_make_one_and_refuse_the_other(
    captioned, same_access, ann_booking, user
):
    """The email's two links clicked at the same moment (or one link twice): one wins, whole; the
    other is told the choice is made, and nothing of it is left."""
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    notice = _notice(ann_booking)

    def choose(choice):
        if choice.startswith("move"):
            return access_changes.move_booking(notice=notice, to=same_access, user=user)
        return access_changes.refund_changed_booking(notice=notice, user=user)

    results = at_once(choose, ["move", "refund", "move again"])

    refused = [result for result in results.values() if isinstance(result, ChangeAnswered)]
    assert len(refused) == 2, results
    notice.refresh_from_db()
    if notice.choice == ChangeNotice.Choice.MOVED:
        assert not Refund.objects.exists()
        assert Ticket.objects.filter(showtime=same_access).count() == 2
    else:
        assert Refund.objects.count() == 1
        assert not Ticket.objects.exists()
    # Seats held for a move that lost are free again at once.
    held = holds.held_labels(showtime_id=same_access.pk, labels=["A3", "A4", "A5", "B3", "B4"])
    sold = set(Ticket.objects.filter(showtime=same_access).values_list("seat__label", flat=True))
    assert set(held) <= sold


def test_a_refund_the_gateway_could_not_do_yet_is_owed_with_the_choice_and_sent_later(
    captioned, ann_booking, user, settings
):
    """The choice and the refund are one record, committed before the gateway is asked: a
    gateway down (or a process dying) leaves the money owed, which reconciliation sends."""
    access_changes.cancel_showtime(showtime=captioned, actor=None)
    settings.PAYMENT_GATEWAY = "bookings.tests.test_payments.RefundsDown"
    (refund,) = access_changes.refund_changed_booking(
        notice=_notice(ann_booking), user=user
    ).refunds
    assert refund.status == Refund.Status.REQUESTED
    assert _notice(ann_booking).choice == ChangeNotice.Choice.REFUNDED
    settings.PAYMENT_GATEWAY = "payments.mock.gateway.MockGateway"
    reconcile_payments(since=timezone.now() - timedelta(days=1))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.amount == Decimal("20.00")


def test_a_cancelled_screening_with_tickets_passed_on_is_refunded_in_full(
    captioned, ann_booking, user
):
    services.pass_on_tickets(booking=ann_booking, labels=["A3"], email="dee@example.com")
    access_changes.cancel_showtime(showtime=captioned, actor=None)

    refunded = access_changes.refund_changed_booking(notice=_notice(ann_booking), user=user)

    assert (refunded.amount, refunded.seats) == (Decimal("20.00"), ["A3", "A4"])
    told = AuditEvent.objects.get(kind=AuditEvent.Kind.TRANSFER_CANCELLED)
    assert (told.detail["email"], told.seats, told.detail["refunded"]) == (
        "dee@example.com",
        ["A3"],
        True,
    )


def test_whoever_holds_tickets_passed_on_is_told_the_screening_changed_once(
    captioned, ann_booking, user, programmer
):
    dee = verified_user("dee")
    services.pass_on_tickets(booking=ann_booking, labels=["A3"], email=dee.email)
    taken_back = services.pass_on_tickets(booking=ann_booking, labels=["A4"], email="x@example.com")
    services.cancel_transfer(transfer=taken_back)
    _, client = programmer
    later = captioned.starts_at + timedelta(hours=3)
    assert _change_form(client, captioned, later).status_code == 302
    (change,) = ScreeningChange.objects.all()
    assert access_changes.tell_buyers(change=change) == []  # told once, however often it runs

    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PASSED_ON_CHANGED)
    assert (event.detail["email"], event.seats, event.detail["what"]) == (
        dee.email,
        ["A3"],
        "moved",
    )
    mail.outbox.clear()
    Notifier(consumer="test", block_ms=1).run_once()
    (email,) = [sent for sent in _emails("Moved: Test Film") if "tickets from" in sent.subject]
    assert email.to == [dee.email]
    assert "passed on to you has moved to another time" in email.body
    assert "Until then your tickets are\nfor the screening as it is now" in email.body
    assert "refund" not in email.body.lower() and "£" not in email.body  # the buyer's choices
    buyers = [sent.to for sent in _emails("Moved: Test Film") if "tickets from" not in sent.subject]
    assert buyers == [[user.email]]


def test_a_moved_screening_refunds_the_buyer_only_the_tickets_they_kept(
    captioned, ann_booking, user, programmer
):
    services.pass_on_tickets(booking=ann_booking, labels=["A3"], email="dee@example.com")
    _, client = programmer
    assert (
        _change_form(client, captioned, captioned.starts_at + timedelta(hours=3)).status_code == 302
    )

    answer = _signed_in(user).post(
        access_changes.choice_path(_notice(ann_booking), "refund"), follow=True
    )

    assert "Your tickets for A4 are refunded: £10.00 goes back to you." in answer.text
    assert list(Refund.objects.values_list("amount", "seats")) == [(Decimal("10.00"), ["A4"])]
    assert ann_booking.tickets.get().seat.label == "A3"  # still the receiver's
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TRANSFER_CANCELLED).exists()
