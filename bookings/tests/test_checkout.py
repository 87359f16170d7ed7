"""Checkout: a ticket type per seat, seat category supplements, vouchers, and paying the total
shown. Every bad input is a clear 4xx that changes nothing."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from audit.emails import compose
from audit.models import AuditEvent
from bookings import checkout, services
from bookings.checkout import VoucherRefused
from bookings.errors import InvalidRequest
from bookings.models import Booking, Payment, Refund, Ticket
from cinema.models import (
    Auditorium,
    Movie,
    PriceList,
    SeatSupplement,
    TicketPrice,
    TicketType,
    Voucher,
)
from cinema.services import save_auditorium, schedule_showtime
from conftest import deliver_webhooks, pay, pay_on_gateway, verified_user
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db

Kind = AuditEvent.Kind

LAYOUT = """\
A  ssss|ssss
B  pppp|pppp
C  vv|vv
"""


@pytest.fixture
def types(db):
    return {
        "adult": TicketType.objects.create(name="Adult", is_default=True, position=1),
        "child": TicketType.objects.create(
            name="Child", rule="Under 15", highest_rating="12A", position=2
        ),
        "senior": TicketType.objects.create(name="Senior", rule="60 and over", position=3),
        "student": TicketType.objects.create(name="Student", position=4),
    }


@pytest.fixture
def peak(types):
    peak = PriceList.objects.create(name="Peak")
    for key, price in {"adult": "12.50", "child": "8.50", "senior": "9.50"}.items():
        TicketPrice.objects.create(price_list=peak, ticket_type=types[key], price=Decimal(price))
    SeatSupplement.objects.create(price_list=peak, category="premium", amount=Decimal("3.00"))
    SeatSupplement.objects.create(price_list=peak, category="vip", amount=Decimal("6.50"))
    return peak


@pytest.fixture
def film(db):
    return Movie.objects.create(title="Family Film", slug="family-film", runtime_minutes=95)


@pytest.fixture
def show(film, peak):
    hall = save_auditorium(auditorium=Auditorium(name="Priced Hall", layout=LAYOUT))
    return schedule_showtime(
        movie=film, auditorium=hall, starts_at=timezone.now() + timedelta(days=2), price_list=peak
    )


@pytest.fixture
def buyer(user):
    client = Client()
    client.force_login(user)
    return client


def _hold(client, show, *labels) -> Booking:
    response = client.post(f"/showtimes/{show.pk}/hold/", {"seats": list(labels)})
    assert response.status_code == 303, response.content
    return Booking.objects.get(ref=response["Location"].strip("/").split("/")[-1])


def _choose(client, booking, **types) -> object:
    data = {f"type-{label}": str(ticket_type.pk) for label, ticket_type in types.items()}
    return client.post(f"/bookings/{booking.ref}/tickets/", data)


def _voucher(client, booking, code: str):
    return client.post(f"/bookings/{booking.ref}/voucher/", {"code": code})


def _unchanged(booking) -> tuple:
    booking.refresh_from_db()
    return (booking.amount, booking.discount, booking.lines, booking.voucher_id)


def test_a_hold_starts_every_seat_as_the_default_type_with_its_category_supplement(buyer, show):
    booking = _hold(buyer, show, "A1", "B1", "C1")
    assert [(line["seat"], line["type_name"]) for line in booking.lines] == [
        ("A1", "Adult"),
        ("B1", "Adult"),
        ("C1", "Adult"),
    ]
    assert booking.amount == Decimal("12.50") + Decimal("15.50") + Decimal("19.00")


def test_mixed_types_and_categories_are_priced_and_each_ticket_keeps_what_was_paid(
    buyer, show, types
):
    booking = _hold(buyer, show, "A1", "B1", "B2", "C1")
    response = _choose(buyer, booking, B2=types["child"], C1=types["senior"])
    assert response.status_code == 303
    booking.refresh_from_db()
    # 12.50 + (12.50 + 3) + (8.50 + 3) + (9.50 + 6.50)
    assert booking.amount == Decimal("55.50")
    page = buyer.get(booking.get_absolute_url()).text
    assert "Pay £55.50" in page and "£11.50" in page and "£16.00" in page
    pay(booking)
    tickets = {
        t.seat.label: (t.ticket_type.name, t.category, t.price)
        for t in Ticket.objects.filter(booking=booking).select_related("seat", "ticket_type")
    }
    assert tickets == {
        "A1": ("Adult", "standard", Decimal("12.50")),
        "B1": ("Adult", "premium", Decimal("15.50")),
        "B2": ("Child", "premium", Decimal("11.50")),
        "C1": ("Senior", "vip", Decimal("16.00")),
    }
    assert booking.payments.get().amount == Decimal("55.50")
    assert "Child" in buyer.get(booking.get_absolute_url()).text


def test_htmx_gets_the_checkout_priced_again(buyer, show, types):
    booking = _hold(buyer, show, "A1", "A2")
    response = _choose(buyer, booking, A2=types["child"])
    # htmx follows the 303 to the booking page and takes its #checkout.
    page = buyer.get(response["Location"], headers={"HX-Request": "true"}).text
    assert 'id="checkout"' in page and "Pay £21.00" in page


def test_no_child_ticket_for_an_18_film(buyer, show, film, types):
    film.age_rating = Movie.AgeRating.R18
    film.save(update_fields=["age_rating"])
    booking = _hold(buyer, show, "A1")
    before = _unchanged(booking)
    response = _choose(buyer, booking, A1=types["child"])
    assert response.status_code == 400
    assert "Child tickets are not sold for an 18 film." in response.text
    assert _unchanged(booking) == before
    # Nor is it offered.
    assert "Child £" not in buyer.get(booking.get_absolute_url()).text


def test_a_ticket_type_not_on_the_price_list_is_refused(buyer, show, types):
    booking = _hold(buyer, show, "A1")
    before = _unchanged(booking)
    response = _choose(buyer, booking, A1=types["student"])
    assert response.status_code == 400
    assert "That ticket type is not sold for this showtime." in response.text
    assert _unchanged(booking) == before


@pytest.mark.parametrize(
    "data, message",
    [
        ({"type-Z9": "1"}, "Z9 is not a seat of this booking."),
        ({"type-A1": "adult"}, "Choose a ticket type from the list."),
        ({"type-A1": "9" * 40}, "Choose a ticket type from the list."),
        # Passes str.isdigit(), which int() refuses.
        ({"type-A1": "²"}, "Choose a ticket type from the list."),
        ({}, "Choose a ticket type for your seats."),
    ],
)
def test_garbage_ticket_choices_are_refused(buyer, show, data, message):
    booking = _hold(buyer, show, "A1")
    before = _unchanged(booking)
    response = buyer.post(f"/bookings/{booking.ref}/tickets/", data)
    assert response.status_code == 400
    assert message in response.text
    assert _unchanged(booking) == before


def test_only_the_owner_may_change_the_tickets(buyer, show, types, bob):
    booking = _hold(buyer, show, "A1")
    other = Client()
    other.force_login(bob)
    assert _choose(other, booking, A1=types["child"]).status_code == 404
    assert _voucher(other, booking, "ANY").status_code == 404


# Vouchers ---------------------------------------------------------------------------------------


def _make_voucher(code="TENOFF", **fields) -> Voucher:
    fields.setdefault("kind", Voucher.Kind.PERCENT)
    fields.setdefault("value", Decimal("10"))
    fields.setdefault("max_uses", 5)
    return Voucher.objects.create(code=code, **fields)


def test_a_percentage_voucher_takes_its_share_off_each_ticket(buyer, show, types):
    voucher = _make_voucher()
    booking = _hold(buyer, show, "B1", "B2")
    _choose(buyer, booking, B2=types["child"])
    response = _voucher(buyer, booking, " tenoff ")
    assert response.status_code == 303
    booking.refresh_from_db()
    # (15.50 + 11.50) less 10 % of each: 1.55 + 1.15
    assert (booking.discount, booking.amount) == (Decimal("2.70"), Decimal("24.30"))
    voucher.refresh_from_db()
    assert voucher.uses == 1
    event = AuditEvent.objects.get(kind=Kind.VOUCHER_REDEEMED)
    assert event.detail["voucher"] == "TENOFF" and event.booking_ref == booking.ref
    pay(booking)
    paid = sorted(Ticket.objects.filter(booking=booking).values_list("price", "discount"))
    assert paid == [(Decimal("10.35"), Decimal("1.15")), (Decimal("13.95"), Decimal("1.55"))]
    confirmed = AuditEvent.objects.get(kind=Kind.BOOKING_CONFIRMED, booking_ref=booking.ref)
    email = compose(confirmed.as_message())
    assert "B1 Adult, Premium: £13.95" in email.text and "B2 Child, Premium: £10.35" in email.text
    for text in (email.text, email.html):
        assert "Adult, Premium: £13.95" in text and "Child, Premium: £10.35" in text
        assert "TENOFF, £2.70 off" in text and "£24.30" in text


def test_an_amount_voucher_is_spread_over_the_tickets_and_never_below_nothing(buyer, show):
    _make_voucher("FIVER", kind=Voucher.Kind.AMOUNT, value=Decimal("5.00"))
    _make_voucher("BIG", kind=Voucher.Kind.AMOUNT, value=Decimal("400.00"))
    booking = _hold(buyer, show, "A1", "C1")
    _voucher(buyer, booking, "FIVER")
    booking.refresh_from_db()
    assert booking.amount == Decimal("12.50") + Decimal("19.00") - 5
    shares = [Decimal(line["discount"]) for line in booking.lines]
    assert sum(shares) == 5 and all(share > 0 for share in shares)
    buyer.post(f"/bookings/{booking.ref}/voucher/remove/")
    _voucher(buyer, booking, "BIG")
    booking.refresh_from_db()
    assert booking.amount == 0 and booking.discount == Decimal("31.50")


def test_a_voucher_for_some_ticket_types_only(buyer, show, types):
    voucher = _make_voucher("KIDS")
    voucher.ticket_types.set([types["child"]])
    booking = _hold(buyer, show, "A1", "A2")
    before = _unchanged(booking)
    response = _voucher(buyer, booking, "KIDS")
    assert response.status_code == 400
    assert "KIDS is only for Child tickets." in response.text
    assert _unchanged(booking) == before
    _choose(buyer, booking, A2=types["child"])
    assert _voucher(buyer, booking, "KIDS").status_code == 303
    booking.refresh_from_db()
    assert booking.discount == Decimal("0.85")


@pytest.mark.parametrize(
    "setup, status, message",
    [
        (None, 400, "There is no voucher NOPE. Check the code and try again."),
        ({"valid_until": -1}, 409, "NOPE has expired."),
        ({"valid_from": +1}, 409, "NOPE can be used from"),
        ({"uses": 3, "max_uses": 3}, 409, "NOPE has been used up."),
        ({"other_showtime": True}, 409, "NOPE is not valid for this showtime."),
    ],
)
def test_a_voucher_that_cannot_be_used_is_refused(buyer, show, showtime, setup, status, message):
    if setup is not None:
        fields = dict(setup)
        now = timezone.now()
        for name in ("valid_from", "valid_until"):
            if name in fields:
                fields[name] = now + timedelta(days=fields[name])
        other = fields.pop("other_showtime", False)
        voucher = _make_voucher("NOPE", **fields)
        if other:
            voucher.showtimes.set([showtime])
    booking = _hold(buyer, show, "A1")
    before = _unchanged(booking)
    response = _voucher(buyer, booking, "nope")
    assert response.status_code == status
    assert message in response.text
    assert _unchanged(booking) == before
    assert not AuditEvent.objects.filter(kind=Kind.VOUCHER_REDEEMED).exists()


def test_a_voucher_applied_twice_or_a_second_voucher_is_refused(buyer, show):
    first = _make_voucher("FIRST")
    _make_voucher("SECOND")
    booking = _hold(buyer, show, "A1")
    assert _voucher(buyer, booking, "FIRST").status_code == 303
    before = _unchanged(booking)
    again = _voucher(buyer, booking, "first")
    assert again.status_code == 400 and "FIRST is already applied" in again.text
    second = _voucher(buyer, booking, "SECOND")
    assert second.status_code == 400 and "already has the voucher FIRST" in second.text
    assert _unchanged(booking) == before
    first.refresh_from_db()
    assert first.uses == 1


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_voucher_is_said_under_its_field(buyer, show, htmx):
    booking = _hold(buyer, show, "A1")
    headers = {"HX-Request": "true"} if htmx else {}

    response = buyer.post(f"/bookings/{booking.ref}/voucher/", {"code": "NOPE"}, headers=headers)

    assert response.status_code == 400
    text = response.text
    error = '<p class="field-error" id="voucher-error" role="alert">There is no voucher NOPE.'
    assert error in text
    assert text.index('id="voucher-code"') < text.index(error)
    # Focused, so scrolled to, when the page loads without JavaScript; the code is kept.
    assert re.search(r'id="voucher-code"[^>]*value="NOPE"[^>]*aria-invalid="true"', text)
    assert re.search(r'id="voucher-code"[^>]*aria-describedby="voucher-error" autofocus', text)
    assert '<div class="alert alert--error" role="alert">' not in text


@pytest.mark.parametrize("htmx", [False, True])
def test_an_applied_or_removed_voucher_is_said_under_its_field(buyer, show, htmx):
    _make_voucher()
    booking = _hold(buyer, show, "A1")
    headers = {"HX-Request": "true"} if htmx else {}

    for url, said in [
        (f"/bookings/{booking.ref}/voucher/", "TENOFF applied: 10% off."),
        (f"/bookings/{booking.ref}/voucher/remove/", "The voucher is removed."),
    ]:
        response = buyer.post(url, {"code": "TENOFF"}, headers=headers, follow=True)

        assert response.redirect_chain[0][1] == 303
        text = response.text
        note = f'id="voucher-note" role="status" tabindex="-1" autofocus>{said}</p>'
        assert text.count(said) == 1  # not at the top of the page too
        assert text.index('id="voucher"') < text.index(note) < text.index('class="pay-form"')
    # Said once: the page loaded again says nothing.
    assert 'id="voucher-note"' not in buyer.get(booking.get_absolute_url()).text


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_ticket_choice_is_focused_at_the_top_of_the_checkout(buyer, show, types, htmx):
    booking = _hold(buyer, show, "A1")
    headers = {"HX-Request": "true"} if htmx else {}

    response = buyer.post(
        f"/bookings/{booking.ref}/tickets/",
        {"type-A1": str(types["student"].pk)},
        headers=headers,
    )

    assert response.status_code == 400
    text = response.text
    alert = (
        '<div class="alert alert--error" id="checkout-error" role="alert" tabindex="-1" autofocus>'
        "<strong>That ticket type is not sold for this showtime.</strong>"
    )
    assert alert in text
    assert text.index('id="checkout"') < text.index(alert) < text.index('id="type-A1"')
    assert text.count("autofocus") == 1


def test_the_checkout_lets_htmx_swap_in_a_refusal(buyer, show):
    """htmx reads the first htmx-config only: the checkout's must be the one, with the CSP's."""
    page = buyer.get(_hold(buyer, show, "A1").get_absolute_url())
    configs = re.findall(r'<meta name="htmx-config" content=\'([^\']*)\'>', page.text)
    assert len(configs) == 1
    assert "{#" not in page.text and "#}" not in page.text  # no template comment leaks
    config = json.loads(configs[0])
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    assert {"code": "[234]..", "swap": True, "error": False} in config["responseHandling"]


@pytest.mark.parametrize("code", ["", "   ", "X" * 33])
def test_an_empty_or_overlong_code_is_refused(buyer, show, code):
    booking = _hold(buyer, show, "A1")
    assert _voucher(buyer, booking, code).status_code == 400


def test_a_voucher_use_is_given_back_when_the_hold_is_released(buyer, show):
    voucher = _make_voucher(max_uses=1)
    booking = _hold(buyer, show, "A1")
    _voucher(buyer, booking, "TENOFF")
    buyer.post(f"/bookings/{booking.ref}/cancel/")
    voucher.refresh_from_db()
    assert voucher.uses == 0
    assert AuditEvent.objects.filter(kind=Kind.VOUCHER_RETURNED, booking_ref=booking.ref).exists()


def test_a_voucher_use_is_given_back_when_the_booking_expires(buyer, show):
    voucher = _make_voucher(max_uses=1)
    booking = _hold(buyer, show, "A1")
    _voucher(buyer, booking, "TENOFF")
    expired = services.expire_booking(booking=booking, now=timezone.now() + timedelta(hours=1))
    assert expired.status == Booking.Status.EXPIRED
    voucher.refresh_from_db()
    assert voucher.uses == 0


def test_a_voucher_use_is_given_back_on_a_full_refund_not_a_partial_one(buyer, show):
    voucher = _make_voucher(max_uses=1)
    booking = _hold(buyer, show, "A1", "A2")
    _voucher(buyer, booking, "TENOFF")
    pay(booking)
    services.refund_tickets(booking=booking, actor=None, reason="test", labels=["A1"])
    voucher.refresh_from_db()
    assert voucher.uses == 1
    services.cancel_booking(booking=booking)
    voucher.refresh_from_db()
    assert voucher.uses == 0


def test_removing_a_voucher_gives_its_use_back_and_the_full_price(buyer, show):
    voucher = _make_voucher(max_uses=1)
    booking = _hold(buyer, show, "A1")
    _voucher(buyer, booking, "TENOFF")
    assert buyer.post(f"/bookings/{booking.ref}/voucher/remove/").status_code == 303
    booking.refresh_from_db()
    voucher.refresh_from_db()
    assert (booking.amount, booking.voucher_id, voucher.uses) == (Decimal("12.50"), None, 0)
    assert buyer.post(f"/bookings/{booking.ref}/voucher/remove/").status_code == 400


def test_the_refund_is_what_was_paid_for_each_ticket(buyer, show, types):
    _make_voucher()
    booking = _hold(buyer, show, "A1", "B2", "C1")
    _choose(buyer, booking, B2=types["child"])
    _voucher(buyer, booking, "TENOFF")
    booking = pay(booking)
    paid = {t.seat.label: t.price for t in booking.tickets.select_related("seat")}
    partial = services.refund_tickets(booking=booking, actor=None, reason="test", labels=["B2"])
    assert partial.amount == paid["B2"] == Decimal("10.35")
    rest = services.cancel_booking(booking=booking)
    assert rest.amount == paid["A1"] + paid["C1"]
    assert partial.amount + rest.amount == booking.payments.get().amount
    assert sum(Refund.objects.values_list("amount", flat=True)) == booking.amount


# The price list changes while the buyer is in checkout ------------------------------------------


def test_a_price_change_during_checkout_is_not_charged(buyer, show, peak, types, bob):
    booking = _hold(buyer, show, "A1")
    assert "Pay £12.50" in buyer.get(booking.get_absolute_url()).text
    adult = TicketPrice.objects.get(price_list=peak, ticket_type=types["adult"])
    adult.price = Decimal("20.00")
    adult.save()
    # What the buyer chose at stays: they pay the price they were shown.
    response = buyer.post(f"/bookings/{booking.ref}/pay/", {"total": "12.50"})
    assert response.status_code == 303
    assert booking.payments.get().amount == Decimal("12.50")
    # A new selection is priced as the list is now.
    other = Client()
    other.force_login(bob)
    assert _hold(other, show, "A2").amount == Decimal("20.00")


def test_paying_a_total_other_than_the_one_shown_changes_nothing(buyer, show, types):
    booking = _hold(buyer, show, "A1", "A2")
    shown = buyer.get(booking.get_absolute_url()).text
    assert 'name="total" value="25.00"' in shown
    # Another window changes a ticket; this one still shows 25.00.
    _choose(buyer, booking, A2=types["child"])
    response = buyer.post(f"/bookings/{booking.ref}/pay/", {"total": "25.00"})
    assert response.status_code == 409
    assert "Your total is now £21.00, not £25.00" in response.text
    assert not Payment.objects.filter(booking=booking).exists()
    assert buyer.post(f"/bookings/{booking.ref}/pay/", {"total": "21.00"}).status_code == 303
    assert buyer.post(f"/bookings/{booking.ref}/pay/", {"total": "lots"}).status_code == 400


def test_tickets_changed_while_on_the_gateway_page_are_refunded_not_sold_cheap(buyer, show, types):
    booking = _hold(buyer, show, "A1")
    response = buyer.post(f"/bookings/{booking.ref}/pay/", {"total": "12.50"})
    _choose(buyer, booking, A1=types["child"])  # 8.50 now; the gateway's page says 12.50
    gateway = Client()
    pay_on_gateway(gateway, response["Location"])
    deliver_webhooks(gateway)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING
    refund = Refund.objects.get(payment__booking=booking)
    assert refund.amount == Decimal("12.50") and refund.reason == services.BOOKING_CHANGED


def test_changing_a_hold_keeps_the_chosen_types_of_the_seats_kept(buyer, show, types):
    booking = _hold(buyer, show, "A1", "A2")
    _choose(buyer, booking, A2=types["child"])
    booking = _hold(buyer, show, "A2", "A3")
    assert [(line["seat"], line["type_name"]) for line in booking.lines] == [
        ("A2", "Child"),
        ("A3", "Adult"),
    ]


def test_choosing_tickets_is_audited(buyer, show, types):
    booking = _hold(buyer, show, "A1")
    _choose(buyer, booking, A1=types["senior"])
    event = AuditEvent.objects.get(kind=Kind.TICKETS_CHOSEN)
    assert event.detail["tickets"] == {"A1": "Senior"} and event.detail["amount"] == "9.50"


def test_a_confirmed_booking_cannot_change_its_tickets_or_voucher(buyer, show, types):
    _make_voucher()
    booking = pay(_hold(buyer, show, "A1"))
    assert _choose(buyer, booking, A1=types["child"]).status_code == 409
    assert _voucher(buyer, booking, "TENOFF").status_code == 409
    with pytest.raises(InvalidRequest):
        checkout.apply_voucher(booking=booking, code="")


def test_a_late_payment_takes_the_voucher_use_again(buyer, show):
    voucher = _make_voucher(max_uses=1)
    booking = _hold(buyer, show, "A1")
    _voucher(buyer, booking, "TENOFF")
    response = buyer.post(f"/bookings/{booking.ref}/pay/")
    services.expire_booking(booking=booking, now=timezone.now() + timedelta(hours=1))
    voucher.refresh_from_db()
    assert voucher.uses == 0
    gateway = Client()
    pay_on_gateway(gateway, response["Location"])
    deliver_webhooks(gateway)
    booking.refresh_from_db()
    voucher.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and voucher.uses == 1


# The race for the last use ---------------------------------------------------------------------


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_racing_for_the_last_use_exactly_one_wins(show):
    voucher = _make_voucher("LAST", max_uses=3, uses=2)
    seats = [f"{row}{n}" for row in "AB" for n in range(1, 9)] + ["C1", "C2", "C3", "C4"]
    bookings = [
        services.hold_seats(user=verified_user(f"racer{n}"), showtime=show, labels=[label])
        for n, label in enumerate(seats)
    ]
    assert len(bookings) == 20
    results = at_once(
        lambda booking: checkout.apply_voucher(booking=booking, code="LAST"), bookings
    )
    won = [result for result in results.values() if isinstance(result, Booking)]
    lost = [result for result in results.values() if not isinstance(result, Booking)]
    assert len(won) == 1
    assert all(isinstance(error, VoucherRefused) for error in lost), lost
    assert {error.message for error in lost} == {"LAST has been used up."}
    voucher.refresh_from_db()
    assert voucher.uses == 3
    assert Booking.objects.filter(voucher=voucher).count() == 1
    assert AuditEvent.objects.filter(kind=Kind.VOUCHER_REDEEMED).count() == 1
