"""Staff refund tickets of a paid booking from its admin page: some or all of them, for what was
paid or less, with a reason kept in the audit trail, through the service and never twice."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Kind
from bookings import services
from bookings.models import Booking, Refund
from conftest import pay

pytestmark = pytest.mark.django_db(transaction=True)


def _refund_url(booking: Booking) -> str:
    return reverse("admin:bookings_booking_refund", args=[booking.pk])


def _change_url(booking: Booking) -> str:
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def _ticket_labels(booking: Booking) -> list[str]:
    return sorted(booking.tickets.values_list("seat__label", flat=True))


@pytest.fixture
def paid(user, showtime):
    """Ann's booking of A1, A2 and A3 at £10 each, paid through the gateway."""
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A1", "A2", "A3"]))
    assert booking.status == Booking.Status.CONFIRMED
    return booking


def _assert_nothing_changed(booking: Booking) -> None:
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert _ticket_labels(booking) == ["A1", "A2", "A3"]
    assert not Refund.objects.exists()


def test_the_page_shows_the_booking_and_each_ticket_with_its_price(staff, paid):
    response = staff.get(_refund_url(paid))

    assert response.status_code == 200
    page = response.content.decode()
    assert paid.ref in page
    assert "ann@example.com" in page
    assert "£30.00" in page  # what was paid
    for label in ["A1", "A2", "A3"]:
        assert f'value="{label}"' in page
    assert page.count("Adult standard (£10.00 paid)") == 3
    assert "<legend>Tickets to refund</legend>" in page
    assert "csrfmiddlewaretoken" in page


def test_refunding_one_ticket_of_three_keeps_the_booking_and_frees_the_seat(
    staff, staff_user, paid, showtime, bob
):
    response = staff.post(
        _refund_url(paid), {"tickets": ["A2"], "amount": "", "reason": "Seat A2 is broken"}
    )

    assert response.status_code == 303
    assert response["Location"] == _change_url(paid)
    shown = staff.get(response["Location"]).content.decode()
    assert "Refunded £10.00 for A2." in shown
    paid.refresh_from_db()
    assert paid.status == Booking.Status.CONFIRMED
    assert _ticket_labels(paid) == ["A1", "A3"]
    refund = Refund.objects.get()
    assert (refund.amount, refund.seats, refund.status) == (
        Decimal("10.00"),
        ["A2"],
        Refund.Status.SUCCEEDED,
    )
    assert (refund.why, refund.actor) == ("Seat A2 is broken", staff_user)
    released = AuditEvent.objects.get(booking_ref=paid.ref, kind=Kind.SEATS_RELEASED)
    assert (released.seats, released.actor) == (["A2"], staff_user)
    assert released.detail["staff_reason"] == "Seat A2 is broken"
    assert AuditEvent.objects.filter(booking_ref=paid.ref, kind=Kind.REFUND_SENT).exists()
    # Free for anyone to buy again at once.
    services.hold_seats(user=bob, showtime=showtime, labels=["A2"])


def test_staff_may_refund_less_than_was_paid(staff, paid):
    response = staff.post(
        _refund_url(paid), {"tickets": ["A1"], "amount": "4.5", "reason": "Late start"}
    )

    assert response.status_code == 303
    assert "Refunded £4.50 for A1." in staff.get(response["Location"]).content.decode()
    refund = Refund.objects.get()
    assert refund.amount == Decimal("4.50")
    released = AuditEvent.objects.get(booking_ref=paid.ref, kind=Kind.SEATS_RELEASED)
    assert released.detail["amount"] == "4.50"
    assert _ticket_labels(paid) == ["A2", "A3"]


def test_an_amount_above_what_was_paid_is_refused_and_nothing_changes(staff, paid):
    response = staff.post(
        _refund_url(paid), {"tickets": ["A1"], "amount": "10.01", "reason": "Goodwill"}
    )

    assert response.status_code == 400
    assert "That is more than was paid: at most £10.00" in response.content.decode()
    _assert_nothing_changed(paid)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("ten", "Enter the amount as a number, such as 7.50"),
        ("1.234", "at most 2 decimal places"),
        ("0", "Enter an amount above £0."),
        ("-5", "Enter an amount above £0."),
        ("NaN", "Enter the amount as a number, such as 7.50"),
        ("123456789", "far more than any booking"),
    ],
)
def test_an_amount_that_is_not_money_is_refused(staff, paid, amount, message):
    response = staff.post(
        _refund_url(paid), {"tickets": ["A1"], "amount": amount, "reason": "Goodwill"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    _assert_nothing_changed(paid)


def test_a_refund_needs_a_reason(staff, paid):
    response = staff.post(_refund_url(paid), {"tickets": ["A1"], "reason": "   "})

    assert response.status_code == 400
    assert "Give a reason: it is kept with the refund." in response.content.decode()
    _assert_nothing_changed(paid)


@pytest.mark.parametrize("form", [{"amount": "5", "reason": "Goodwill"}, {}])
def test_a_refund_needs_a_ticket(staff, paid, form):
    response = staff.post(_refund_url(paid), form)

    assert response.status_code == 400
    assert "Choose at least one ticket to refund." in response.content.decode()
    _assert_nothing_changed(paid)


def test_a_seat_that_is_not_in_the_booking_is_refused(staff, paid):
    response = staff.post(_refund_url(paid), {"tickets": ["H9"], "reason": "Goodwill"})

    assert response.status_code == 400
    assert "H9 is not a seat of this booking." in response.content.decode()
    _assert_nothing_changed(paid)


def test_a_ticket_is_refunded_only_once(staff, paid):
    first = staff.post(_refund_url(paid), {"tickets": ["A1"], "reason": "Broken seat"})
    assert first.status_code == 303

    again = staff.post(_refund_url(paid), {"tickets": ["A1"], "reason": "Broken seat"})

    assert again.status_code == 409
    assert "The ticket for A1 has already been refunded." in again.content.decode()
    assert Refund.objects.count() == 1
    assert _ticket_labels(paid) == ["A2", "A3"]


def test_refunding_every_ticket_cancels_the_booking_and_closes_the_page(staff, paid):
    response = staff.post(
        _refund_url(paid), {"tickets": ["A1", "A2", "A3"], "reason": "Film pulled"}
    )

    assert response.status_code == 303
    paid.refresh_from_db()
    assert paid.status == Booking.Status.CANCELLED
    assert Refund.objects.get().amount == Decimal("30.00")
    closed = staff.get(_refund_url(paid), follow=True)
    assert "Only a confirmed booking can be refunded" in closed.content.decode()


def test_a_pending_booking_has_no_refund_page_or_link(staff, user, showtime):
    held = services.hold_seats(user=user, showtime=showtime, labels=["A1"])

    response = staff.post(_refund_url(held), {"tickets": ["A1"], "reason": "Goodwill"})

    assert response.status_code == 303
    assert response["Location"] == _change_url(held)
    shown = staff.get(response["Location"]).content.decode()
    assert f"Only a confirmed booking can be refunded; {held.ref} is pending payment." in shown
    assert _refund_url(held) not in shown
    held.refresh_from_db()
    assert held.status == Booking.Status.PENDING
    assert not Refund.objects.exists()


def test_the_change_page_links_to_the_refund_page_and_lists_payments_and_refunds(staff, paid):
    staff.post(_refund_url(paid), {"tickets": ["A3"], "amount": "7", "reason": "Noisy row"})

    page = staff.get(_change_url(paid)).content.decode()

    assert f'href="{_refund_url(paid)}"' in page
    assert "Refund tickets…" in page
    payment = paid.payments.get()
    assert payment.charge in page and payment.session_id in page
    refunds = page[page.index('<table class="refunds">') :]
    refunds = refunds[: refunds.index("</table>")]
    assert "£7.00" in refunds and "Noisy row" in refunds and "Refunded" in refunds


def test_signed_in_customers_cannot_reach_the_refund_page(client, user, paid):
    client.force_login(user)

    for response in [
        client.get(_refund_url(paid)),
        client.post(_refund_url(paid), {"tickets": ["A1"], "reason": "Me"}),
    ]:
        assert response.status_code == 403 or "/login/" in response.get("Location", "")
    _assert_nothing_changed(paid)


def test_the_csv_export_says_how_much_was_refunded(staff, paid):
    staff.post(_refund_url(paid), {"tickets": ["A1"], "amount": "2.50", "reason": "Goodwill"})

    response = staff.post(
        "/admin/bookings/booking/",
        {"action": "export_csv", "_selected_action": [paid.pk], "index": 0},
    )

    (row,) = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    assert (row["amount"], row["refunded"], row["seats"]) == ("30.00", "2.50", "A2 A3")
    # Each ticket kept, with its type, category and what was paid for it.
    assert row["tickets"] == "A2 Adult standard 10.00; A3 Adult standard 10.00"
    assert (row["discount"], row["voucher"]) == ("0.00", "")


def test_payments_and_refunds_are_found_by_booking_ref(staff, paid, user, showtime):
    staff.post(_refund_url(paid), {"tickets": ["A1"], "reason": "Goodwill"})

    for changelist in ["/admin/bookings/payment/", "/admin/bookings/refund/"]:
        found = staff.get(changelist, {"q": paid.ref.lower(), "status__exact": "succeeded"})
        assert found.status_code == 200
        assert len(found.context["cl"].result_list) == 1
        assert staff.get(changelist, {"q": "NOSUCHREF"}).context["cl"].result_list.count() == 0
