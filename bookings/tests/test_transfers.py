"""Passing tickets on: new codes for the receiver, the old ones void, claimed by the account
with the address they went to; never a sale (limits), never a refund to anyone but the payer."""

from datetime import timedelta
from decimal import Decimal
from email.mime.image import MIMEImage

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.notifier import Notifier
from bookings import services, ticket_codes, tickets
from bookings.errors import (
    BookingClosed,
    InvalidRequest,
    NotTheReceiver,
    TransferLimitReached,
    TransferRefused,
)
from bookings.models import Booking, Refund, Ticket, Transfer, VoidTicket
from checkin.models import CheckIn
from cinema.models import Showtime
from conftest import pay, verified_user
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db

Kind = AuditEvent.Kind


@pytest.fixture
def paid(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3", "A4"]))


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _code(ticket: Ticket) -> str:
    return ticket_codes.encode(
        showtime_id=ticket.showtime_id, ticket_id=ticket.pk, secret=ticket.secret
    )


def _ticket(booking: Booking, label: str) -> Ticket:
    return Ticket.objects.get(booking=booking, seat__label=label)


def _pass_on(booking: Booking, *labels: str, email: str = "dee@example.com") -> Transfer:
    return services.pass_on_tickets(booking=booking, labels=list(labels), email=email)


def test_passing_on_reissues_the_tickets_and_keeps_the_old_codes_as_void(paid):
    old = _ticket(paid, "A3").secret
    transfer = _pass_on(paid, "A3")
    a3 = _ticket(paid, "A3")
    assert a3.secret != old and a3.transfer == transfer and a3.booking == paid
    void = VoidTicket.objects.get(secret=old)
    assert (void.ticket_id, void.reason) == (a3.pk, VoidTicket.Reason.TRANSFERRED)
    assert (transfer.status, transfer.seats, transfer.sender) == ("sent", ["A3"], paid.user)
    assert [p.seat for p in tickets.passes(paid)] == ["A4"]
    assert [p.seat for p in tickets.transfer_passes(transfer)] == ["A3"]
    event = AuditEvent.objects.get(kind=Kind.TICKETS_PASSED_ON)
    assert (event.booking_ref, event.seats, event.actor) == (paid.ref, ["A3"], paid.user)
    assert event.detail["email"] == "dee@example.com"
    assert not {"amount", "money", "price"} & set(event.detail)


def test_the_receiver_is_emailed_the_new_codes_once(paid, redis_db, settings):
    settings.SITE_URL = "https://tickets.example.com"
    transfer = _pass_on(paid, "A3", "A4")
    event = AuditEvent.objects.emailing().get(kind=Kind.TICKETS_PASSED_ON)
    notifier = Notifier(consumer="test", block_ms=1)
    assert notifier.handle(event.as_message())
    assert not notifier.handle(event.as_message())
    (email,) = mail.outbox
    assert email.to == ["dee@example.com"]
    assert email.subject == "ann@example.com passed on tickets for Test Film to you"
    assert f"https://tickets.example.com/transfers/{transfer.ref}/" in email.body
    assert "£" not in email.body
    codes = [part for part in email.related if isinstance(part, MIMEImage)]
    assert [part["Content-ID"] for part in codes] == ["<ticket-A3>", "<ticket-A4>"]
    assert [name for name, *_ in email.attachments] == [f"tickets-{transfer.ref}.pdf"]


def test_an_account_with_the_address_has_them_at_once(paid, bob):
    transfer = _pass_on(paid, "A3", email="BOB@example.com")
    assert (transfer.status, transfer.receiver) == ("claimed", bob)
    page = _client(bob).get("/bookings/")
    assert f"/transfers/{transfer.ref}/" in page.content.decode()
    tickets_page = _client(bob).get(f"/transfers/{transfer.ref}/").content.decode()
    assert f'data-code="{_code(_ticket(paid, "A3"))}"' in tickets_page
    # Only A3's card: its seat and code, never A4's (a random token may spell "A4").
    assert '<dd data-ticket="A3">' in tickets_page and 'data-ticket="A4"' not in tickets_page
    assert f'data-code="{_code(_ticket(paid, "A4"))}"' not in tickets_page
    assert AuditEvent.objects.filter(kind=Kind.TRANSFER_CLAIMED, actor=bob).count() == 1


def test_a_newcomer_claims_them_once_their_address_is_confirmed(paid):
    transfer = _pass_on(paid, "A3", email="newcomer@example.com")
    newcomer = get_user_model().objects.create_user("newcomer", "newcomer@example.com", "pw-123")
    address = EmailAddress.objects.create(user=newcomer, email="newcomer@example.com")
    client = _client(newcomer)
    page = client.get(f"/transfers/{transfer.ref}/")
    assert page.status_code == 200 and "Add to my bookings" in page.content.decode()
    assert "data-code" not in page.content.decode()
    refused = client.post(f"/transfers/{transfer.ref}/claim/")
    assert refused.status_code == 403
    assert "Confirm newcomer@example.com first" in refused.content.decode()
    address.verified = True
    address.save()
    claimed = client.post(f"/transfers/{transfer.ref}/claim/")
    assert claimed.status_code == 303 and claimed["Location"] == f"/transfers/{transfer.ref}/"
    assert f'data-code="{_code(_ticket(paid, "A3"))}"' in client.get(claimed["Location"]).text
    assert f"/transfers/{transfer.ref}/" in client.get("/bookings/").content.decode()
    assert client.post(f"/transfers/{transfer.ref}/claim/").status_code == 303  # twice: no-op


def test_nobody_else_claims_or_sees_them(paid, bob):
    transfer = _pass_on(paid, "A3", email="newcomer@example.com")
    stranger = _client(bob)
    refused = stranger.post(f"/transfers/{transfer.ref}/claim/")
    assert refused.status_code == 403
    assert "passed on to another email address" in refused.content.decode()
    with pytest.raises(NotTheReceiver):
        services.claim_transfer(transfer=transfer, user=bob)
    newcomer = verified_user("newcomer")
    services.claim_transfer(transfer=transfer, user=newcomer)
    assert stranger.get(f"/transfers/{transfer.ref}/").status_code == 404
    assert stranger.get("/transfers/NOSUCHREF000/").status_code == 404
    sender_view = _client(paid.user).get(f"/transfers/{transfer.ref}/")
    assert "newcomer@example.com has them in their bookings now" in sender_view.content.decode()
    assert "data-code" not in sender_view.content.decode()


def test_signed_out_the_link_asks_to_sign_in_first(paid):
    transfer = _pass_on(paid, "A3", email="newcomer@example.com")
    page = Client().get(f"/transfers/{transfer.ref}/")
    assert page.status_code == 302
    assert page["Location"] == f"/accounts/login/?next=/transfers/{transfer.ref}/"


@pytest.mark.parametrize(
    ("labels", "email", "error", "message"),
    [
        (["A3"], "ann@example.com", TransferRefused, "your own email address"),
        (["A3"], "Ann@Example.com", TransferRefused, "your own email address"),
        (["A3"], "not an address", InvalidRequest, "Give the email address"),
        ([], "dee@example.com", InvalidRequest, "Choose at least one ticket"),
        (["A3", "a3"], "dee@example.com", InvalidRequest, "more than once"),
        (["B1"], "dee@example.com", InvalidRequest, "B1 is not a ticket of this booking"),
    ],
)
def test_bad_transfers_are_refused_and_change_nothing(paid, labels, email, error, message):
    secrets = set(Ticket.objects.values_list("secret", flat=True))
    with pytest.raises(error, match=message):
        services.pass_on_tickets(booking=paid, labels=labels, email=email)
    assert not Transfer.objects.exists() and not VoidTicket.objects.exists()
    assert set(Ticket.objects.values_list("secret", flat=True)) == secrets


def test_a_ticket_passed_on_is_not_passed_on_again_by_the_buyer(paid):
    _pass_on(paid, "A3")
    with pytest.raises(TransferRefused, match="A3 has been passed on already"):
        _pass_on(paid, "A3", email="eve@example.com")


def test_a_ticket_changes_hands_at_most_the_limit(paid, settings):
    settings.TRANSFERS_PER_TICKET = 2
    services.cancel_transfer(transfer=_pass_on(paid, "A3"))
    services.cancel_transfer(transfer=_pass_on(paid, "A3"))
    with pytest.raises(TransferLimitReached, match="A3 has been passed on 2 times already"):
        _pass_on(paid, "A3")
    _pass_on(paid, "A4")


def test_an_account_passes_tickets_of_a_showtime_on_at_most_the_limit(paid, settings, showtime):
    settings.TRANSFERS_PER_ACCOUNT_PER_SHOWTIME = 1
    _pass_on(paid, "A3")
    with pytest.raises(TransferLimitReached, match="as often as one account may"):
        _pass_on(paid, "A4")


def test_nothing_passes_on_once_the_show_has_started(paid):
    Showtime.objects.filter(pk=paid.showtime_id).update(
        starts_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(BookingClosed, match="The show has started"):
        _pass_on(paid, "A3")


def test_only_a_paid_booking_passes_on(showtime, user):
    held = services.hold_seats(user=user, showtime=showtime, labels=["A3"])
    with pytest.raises(BookingClosed, match="paid booking"):
        _pass_on(held, "A3")


def test_taking_back_voids_the_codes_sent_and_gives_the_buyer_new_ones(paid):
    transfer = _pass_on(paid, "A3")
    sent = _ticket(paid, "A3").secret
    services.cancel_transfer(transfer=transfer)
    a3 = _ticket(paid, "A3")
    assert a3.transfer is None and a3.secret != sent
    assert VoidTicket.objects.get(secret=sent).reason == VoidTicket.Reason.RECALLED
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED
    assert [p.seat for p in tickets.passes(paid)] == ["A3", "A4"]
    assert AuditEvent.objects.filter(kind=Kind.TRANSFER_CANCELLED, seats=["A3"]).count() == 1
    with pytest.raises(BookingClosed, match="taken back"):
        services.claim_transfer(transfer=transfer, user=verified_user("dee"))


def test_the_receiver_is_told_when_the_tickets_are_taken_back(paid, redis_db):
    services.cancel_transfer(transfer=_pass_on(paid, "A3"))
    notifier = Notifier(consumer="test", block_ms=1)
    for event in AuditEvent.objects.emailing().order_by("id"):
        notifier.handle(event.as_message())
    taken_back = mail.outbox[-1]
    assert taken_back.to == ["dee@example.com"]
    assert (
        taken_back.subject == "ann@example.com took back the tickets for Test Film passed on to you"
    )
    assert "no longer work" in taken_back.body and not taken_back.attachments


def test_claimed_or_used_tickets_are_not_taken_back(paid, bob, staff_user):
    claimed = _pass_on(paid, "A3", email="bob@example.com")
    with pytest.raises(BookingClosed, match="claimed"):
        services.cancel_transfer(transfer=claimed)
    used = _pass_on(paid, "A4")
    CheckIn.objects.create(ticket=_ticket(paid, "A4"), showtime=paid.showtime, staff=staff_user)
    with pytest.raises(TransferRefused, match="used at the door"):
        services.cancel_transfer(transfer=used)


def test_the_buyer_cancelling_refunds_only_the_tickets_they_kept(paid):
    _pass_on(paid, "A3")
    refund = services.cancel_booking(booking=paid)
    assert (refund.amount, refund.seats) == (Decimal("10.00"), ["A4"])
    paid.refresh_from_db()
    assert paid.status == Booking.Status.CONFIRMED and paid.seat_labels == ["A3"]
    assert _ticket(paid, "A3").transfer is not None
    with pytest.raises(BookingClosed, match="Every ticket of this booking was passed on"):
        services.cancel_booking(booking=paid)


def test_the_buyer_may_not_refund_a_ticket_passed_on(paid):
    _pass_on(paid, "A3")
    with pytest.raises(BookingClosed, match="A3 passed on to someone else"):
        services.refund_tickets(booking=paid, actor=paid.user, reason="test", labels=["A3"])


def test_staff_refunding_a_ticket_passed_on_pays_the_buyer_back(paid, bob, staff_user):
    _pass_on(paid, "A3", email="bob@example.com")
    code = _ticket(paid, "A3").secret
    refund = services.refund_tickets(
        booking=paid, actor=staff_user, reason="show cancelled", labels=["A3"]
    )
    assert refund.refunds[0].payment.booking == paid and refund.amount == Decimal("10.00")
    assert refund.status == Refund.Status.SUCCEEDED
    assert VoidTicket.objects.get(secret=code).reason == VoidTicket.Reason.REFUNDED


def test_the_receiver_is_told_when_staff_refund_the_tickets_passed_on(paid, staff_user, redis_db):
    _pass_on(paid, "A3")
    services.refund_tickets(booking=paid, actor=staff_user, reason="show cancelled")
    notifier = Notifier(consumer="test", block_ms=1)
    for event in AuditEvent.objects.emailing().order_by("id"):
        notifier.handle(event.as_message())
    (told,) = [email for email in mail.outbox if email.to == ["dee@example.com"]][1:]
    assert told.subject == "The tickets for Test Film passed on to you were refunded"
    assert "refunded them to ann@example.com" in told.body and "no longer work" in told.body
    (seats,) = [line for line in told.body.splitlines() if line.startswith("Seats:")]
    assert seats.split() == ["Seats:", "A3"] and not told.attachments
    # Once: the buyer's own refund email is theirs alone.
    assert [email.to for email in mail.outbox].count(["ann@example.com"]) == 2


def test_the_pages_pass_on_and_take_back(paid):
    buyer = _client(paid.user)
    page = buyer.get(paid.get_absolute_url()).content.decode()
    assert "Pass tickets on" in page
    answer = buyer.post(
        f"/bookings/{paid.ref}/pass-on/", {"seats": ["A3"], "email": "dee@example.com"}
    )
    assert answer.status_code == 303
    transfer = Transfer.objects.get()
    page = buyer.get(paid.get_absolute_url()).content.decode()
    assert "A3 passed on to dee@example.com" in page
    assert f'data-code="{_code(_ticket(paid, "A3"))}"' not in page
    assert "You get what you paid for A4 back" in page
    taken = buyer.post(f"/bookings/{paid.ref}/pass-on/take-back/", {"transfer": transfer.ref})
    assert taken.status_code == 303
    assert f'data-code="{_code(_ticket(paid, "A3"))}"' in buyer.get(paid.get_absolute_url()).text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"seats": ["A3"], "email": "ann@example.com"}, 409, "your own email address"),
        ({"seats": ["A3"], "email": "x" * 300}, 400, "Give the email address"),
        ({"email": "dee@example.com"}, 400, "Choose at least one ticket"),
    ],
)
def test_the_page_says_why_a_transfer_is_refused(paid, form, status, message):
    answer = _client(paid.user).post(f"/bookings/{paid.ref}/pass-on/", form)
    assert answer.status_code == status
    assert message in answer.content.decode()
    assert not Transfer.objects.exists()


def test_the_limit_is_said_on_the_page_with_a_409(paid, settings):
    settings.TRANSFERS_PER_ACCOUNT_PER_SHOWTIME = 0
    answer = _client(paid.user).post(
        f"/bookings/{paid.ref}/pass-on/", {"seats": ["A3"], "email": "dee@example.com"}
    )
    assert answer.status_code == 409
    assert "as often as one account may" in answer.content.decode()


def test_another_customers_booking_is_404_and_nothing_moves(paid, bob):
    stranger = _client(bob)
    form = {"seats": ["A3"], "email": "bob@example.com"}
    assert stranger.post(f"/bookings/{paid.ref}/pass-on/", form).status_code == 404
    transfer = _pass_on(paid, "A4")
    taken = stranger.post(f"/bookings/{paid.ref}/pass-on/take-back/", {"transfer": transfer.ref})
    assert taken.status_code == 404
    assert Transfer.objects.get().status == Transfer.Status.SENT


def test_the_forms_need_their_csrf_token(paid):
    buyer = Client(enforce_csrf_checks=True)
    buyer.force_login(paid.user)
    form = {"seats": ["A3"], "email": "dee@example.com"}
    assert buyer.post(f"/bookings/{paid.ref}/pass-on/", form).status_code == 403
    transfer = _pass_on(paid, "A4", email="newcomer@example.com")
    newcomer = Client(enforce_csrf_checks=True)
    newcomer.force_login(verified_user("newcomer"))
    assert newcomer.post(f"/transfers/{transfer.ref}/claim/").status_code == 403
    assert Transfer.objects.get().status == Transfer.Status.SENT


def test_staff_see_transfers_in_the_booking_admin(paid, staff):
    transfer = _pass_on(paid, "A3")
    page = staff.get(f"/admin/bookings/booking/{paid.pk}/change/").content.decode()
    assert transfer.ref in page and "dee@example.com" in page


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_ten_transfers_of_one_ticket_at_once_pass_it_on_once(showtime, user, settings):
    settings.TRANSFERS_PER_ACCOUNT_PER_SHOWTIME = 10
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    outcomes = at_once(
        lambda n: services.pass_on_tickets(
            booking=booking, labels=["A3"], email=f"friend{n}@example.com"
        ),
        list(range(10)),
    )
    made = [outcome for outcome in outcomes.values() if isinstance(outcome, Transfer)]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, TransferRefused)]
    assert (len(made), len(refused)) == (1, 9), outcomes
    assert _ticket(booking, "A3").transfer == made[0]
    assert VoidTicket.objects.count() == 1


def _scan_and_pass_on_at_once(booking: Booking, label: str, staff) -> dict:
    from checkin import services as door

    old = _code(_ticket(booking, label))

    def step(name: str):
        if name == "scan":
            return door.scan(showtime=booking.showtime, code=old, door=door.Door(staff=staff))
        return services.pass_on_tickets(booking=booking, labels=[label], email="dee@example.com")

    return at_once(step, ["scan", "pass on"])


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_scan_and_a_transfer_at_once_never_both_use_the_old_code(showtime, user, staff_user):
    for label in ["A1", "A2", "A3", "A4", "B1"]:
        booking = pay(services.hold_seats(user=user, showtime=showtime, labels=[label]))
        outcomes = _scan_and_pass_on_at_once(booking, label, staff_user)
        admitted = outcomes["scan"].admitted
        assert admitted != isinstance(outcomes["pass on"], Transfer), outcomes
        assert CheckIn.objects.filter(ticket__seat__label=label).exists() == admitted


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_transfers_from_two_bookings_at_once_keep_the_accounts_limit(showtime, user, settings):
    settings.TRANSFERS_PER_ACCOUNT_PER_SHOWTIME = 1
    first = pay(services.hold_seats(user=user, showtime=showtime, labels=["A1"]))
    second = pay(services.hold_seats(user=user, showtime=showtime, labels=["A4"]))
    outcomes = at_once(
        lambda booking: services.pass_on_tickets(
            booking=booking, labels=booking.seat_labels, email="dee@example.com"
        ),
        [first, second],
    )
    made = [outcome for outcome in outcomes.values() if isinstance(outcome, Transfer)]
    limited = [o for o in outcomes.values() if isinstance(o, TransferLimitReached)]
    assert (len(made), len(limited)) == (1, 1), outcomes
