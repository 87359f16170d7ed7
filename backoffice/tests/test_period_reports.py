"""Reports over a period: revenue by day, week and month, films, ticket types, vouchers, refunds
and attendance, each figure worked out by hand from the sales the tests make."""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from backoffice import period_selectors as selectors
from bookings import services
from bookings.models import Booking, Payment, Refund, Ticket
from checkin.models import CheckIn
from cinema.models import Movie, TicketType, Voucher
from cinema.services import one_price_list, schedule_showtime
from conftest import pay, verified_user

pytestmark = pytest.mark.django_db

PAGE = "/admin/reports/"
# Summer 2025, so London (BST) is an hour off UTC: a sale at 00:30 local is the day before in UTC.
# Monday 23 June to Sunday 13 July: three whole weeks, across the end of June.
SUMMER = {"from": "2025-06-23", "to": "2025-07-13"}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def sale(showtime, user, at, *tickets, voucher=None, status=Payment.Status.SUCCEEDED):
    """A booking paid at `at`: tickets as (seat, type, paid[, discount]); its payment."""
    total = sum((Decimal(paid) for _, _, paid, *_ in tickets), Decimal("0"))
    booking = Booking.objects.create(
        user=user,
        showtime=showtime,
        amount=total,
        seat_labels=[seat for seat, *_ in tickets],
        status=Booking.Status.CONFIRMED,
        voucher=voucher,
    )
    payment = Payment.objects.create(booking=booking, amount=total, currency="GBP", status=status)
    # The gateway's confirmation is the payment's last change.
    Payment.objects.filter(pk=payment.pk).update(updated_at=at)
    for seat, ticket_type, paid, *discount in tickets:
        Ticket.objects.create(
            booking=booking,
            showtime=showtime,
            seat=showtime.auditorium.seats.get(label=seat),
            ticket_type=ticket_type,
            category="standard",
            price=Decimal(paid),
            discount=Decimal(discount[0] if discount else "0"),
            sold_at=at,
        )
    return payment


def refund(payment, seat, amount, at, *, reason, status=Refund.Status.SUCCEEDED):
    """The ticket for `seat` refunded at `at` (its ticket deleted, as refunding does)."""
    Ticket.objects.filter(booking=payment.booking, seat__label=seat).delete()
    given = Refund.objects.create(
        payment=payment, amount=Decimal(amount), seats=[seat], reason=reason, status=status
    )
    Refund.objects.filter(pk=given.pk).update(created_at=at)


def check_in(payment, seat, at):
    ticket = Ticket.objects.get(booking=payment.booking, seat__label=seat)
    CheckIn.objects.create(ticket=ticket, showtime=ticket.showtime, at=at)


@pytest.fixture
def summer(auditorium, user):
    """Sales, refunds and check-ins around SUMMER, and a few outside it.

    Film A (6 Jul 19:00): Sun 29 Jun 22:30 A1+A2 Adult £10 each, A2 refunded £10 on Wed 2 Jul;
    A1 never came. Film A (12 Jul 18:00): Thu 10 Jul 12:00 A3 Adult £7.99 with SUMMER (£2 off),
    came. Film B (30 Jun 20:00): Mon 30 Jun 00:30 B1 Child £6.50, came; Tue 1 Jul 00:30 B2 Adult
    £8.25, £5 of it refunded on Sat 12 Jul (still owed). Outside the period: £100 on Sun 22 Jun
    23:30 and £50 on Mon 14 Jul 00:05 (for 1 Aug); a payment that failed on 2 Jul.
    """
    price_list = one_price_list(Decimal("10.00"))
    adult = TicketType.objects.get(is_default=True)
    child = TicketType.objects.create(name="Child", position=5)
    film_a = Movie.objects.create(title="Film A", slug="film-a", runtime_minutes=100)
    film_b = Movie.objects.create(title="=1+2 Rerun", slug="film-b", runtime_minutes=90)
    summer = Voucher.objects.create(code="SUMMER", kind="amount", value=Decimal("2.00"))

    def show(movie, day, hour):
        return schedule_showtime(
            movie=movie, auditorium=auditorium, starts_at=local(day, hour), price_list=price_list
        )

    a_sunday = show(film_a, date(2025, 7, 6), 19)
    a_saturday = show(film_a, date(2025, 7, 12), 18)
    b_monday = show(film_b, date(2025, 6, 30), 20)
    august = show(film_a, date(2025, 8, 1), 18)

    sale(august, user, local(date(2025, 6, 22), 23, 30), ("A1", adult, "100.00"))
    p1 = sale(
        a_sunday,
        user,
        local(date(2025, 6, 29), 22, 30),
        ("A1", adult, "10.00"),
        ("A2", adult, "10.00"),
    )
    p2 = sale(b_monday, user, local(date(2025, 6, 30), 0, 30), ("B1", child, "6.50"))
    p3 = sale(b_monday, user, local(date(2025, 7, 1), 0, 30), ("B2", adult, "8.25"))
    p4 = sale(
        a_saturday,
        user,
        local(date(2025, 7, 10), 12),
        ("A3", adult, "7.99", "2.00"),
        voucher=summer,
    )
    sale(august, user, local(date(2025, 7, 14), 0, 5), ("A2", adult, "50.00"))
    failed = Payment.objects.create(
        booking=Booking.objects.create(user=user, showtime=b_monday, amount=Decimal("30.00")),
        amount=Decimal("30.00"),
        currency="GBP",
        status=Payment.Status.FAILED,
    )
    Payment.objects.filter(pk=failed.pk).update(updated_at=local(date(2025, 7, 2), 9))
    refund(p1, "A2", "10.00", local(date(2025, 7, 2), 10), reason="refunded by staff")
    refund(
        p3,
        "B2",
        "5.00",
        local(date(2025, 7, 12), 9),
        reason="cancelled by customer",
        status=Refund.Status.REQUESTED,
    )
    check_in(p2, "B1", local(date(2025, 6, 30), 19, 50))
    check_in(p4, "A3", local(date(2025, 7, 12), 17, 55))


def period(group: str) -> selectors.Period:
    return selectors.Period(first=date(2025, 6, 23), last=date(2025, 7, 13), group=group)


def figures(lines) -> list[tuple]:
    return [(line.first, line.last, line.taken, line.refunded, line.net) for line in lines]


def test_revenue_by_week_counts_each_payment_and_refund_in_its_local_week(summer):
    revenue = selectors.get_revenue(period=period("week"))

    assert figures(revenue.lines) == [
        (date(2025, 6, 23), date(2025, 6, 29), Decimal("20.00"), Decimal("0.00"), Decimal("20.00")),
        # Mon 30 Jun 00:30 is Sunday in UTC: the week is the local one.
        (date(2025, 6, 30), date(2025, 7, 6), Decimal("14.75"), Decimal("10.00"), Decimal("4.75")),
        (date(2025, 7, 7), date(2025, 7, 13), Decimal("7.99"), Decimal("5.00"), Decimal("2.99")),
    ]
    assert [(line.payments, line.refunds) for line in revenue.lines] == [(1, 0), (2, 1), (1, 1)]
    assert (revenue.taken, revenue.refunded, revenue.net) == (
        Decimal("42.74"),
        Decimal("15.00"),
        Decimal("27.74"),
    )


def test_revenue_by_month_splits_at_local_midnight_and_clips_to_the_period(summer):
    lines = selectors.get_revenue(period=period("month")).lines

    # Tue 1 Jul 00:30 BST is still 30 June in UTC; it is July's.
    assert figures(lines) == [
        (date(2025, 6, 23), date(2025, 6, 30), Decimal("26.50"), Decimal("0.00"), Decimal("26.50")),
        (date(2025, 7, 1), date(2025, 7, 13), Decimal("16.24"), Decimal("15.00"), Decimal("1.24")),
    ]


def test_revenue_by_day_has_every_day_and_a_refund_day_goes_below_zero(summer):
    lines = selectors.get_revenue(period=period("day")).lines

    assert len(lines) == 21
    by_day = {line.first: line.net for line in lines}
    assert by_day[date(2025, 6, 29)] == Decimal("20.00")
    assert by_day[date(2025, 6, 30)] == Decimal("6.50")
    assert by_day[date(2025, 7, 1)] == Decimal("8.25")
    assert by_day[date(2025, 7, 2)] == Decimal("-10.00")
    assert by_day[date(2025, 7, 3)] == Decimal("0.00")
    assert sum(by_day.values()) == Decimal("27.74")


def test_weeks_and_months_of_a_period_are_clipped_to_it():
    midweek = selectors.Period(first=date(2025, 7, 2), last=date(2025, 7, 15), group="week")
    assert midweek.buckets() == [
        (date(2025, 7, 2), date(2025, 7, 6)),
        (date(2025, 7, 7), date(2025, 7, 13)),
        (date(2025, 7, 14), date(2025, 7, 15)),
    ]
    new_year = selectors.Period(first=date(2025, 12, 20), last=date(2026, 2, 3), group="month")
    assert new_year.buckets() == [
        (date(2025, 12, 20), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 3)),
    ]


def test_films_take_their_payments_less_their_refunds(summer):
    films = selectors.get_films(period=period("week"))

    assert [(f.title, f.tickets, f.taken, f.refunded, f.net) for f in films] == [
        ("Film A", 2, Decimal("27.99"), Decimal("10.00"), Decimal("17.99")),
        ("=1+2 Rerun", 1, Decimal("14.75"), Decimal("5.00"), Decimal("9.75")),
    ]


def test_ticket_types_vouchers_and_refunds(summer):
    p = period("day")

    assert [
        (t.name, t.tickets, t.paid, t.discount) for t in selectors.get_ticket_types(period=p)
    ] == [
        ("Adult", 2, Decimal("17.99"), Decimal("2.00")),
        ("Child", 1, Decimal("6.50"), Decimal("0.00")),
    ]
    assert [
        (v.code, v.bookings, v.tickets, v.discount, v.paid)
        for v in selectors.get_vouchers(period=p)
    ] == [("SUMMER", 1, 1, Decimal("2.00"), Decimal("7.99"))]
    assert [(r.reason, r.refunds, r.amount, r.owed) for r in selectors.get_refunds(period=p)] == [
        ("refunded by staff", 1, Decimal("10.00"), Decimal("0.00")),
        ("cancelled by customer", 1, Decimal("5.00"), Decimal("5.00")),
    ]


def test_attendance_counts_the_door_and_the_no_shows_by_showtime_week(summer):
    lines = selectors.get_attendance(period=period("week"))

    assert [(a.tickets, a.checked_in, a.no_shows, a.to_come, a.percent) for a in lines] == [
        (0, 0, 0, 0, None),
        (2, 1, 1, 0, 50),  # B1 came on 30 Jun; A1 never came on 6 Jul
        (1, 1, 0, 0, 100),
    ]


def test_tickets_of_a_showtime_still_to_come_are_not_no_shows(showtime, user):
    sale(showtime, user, timezone.now(), ("A1", TicketType.objects.get(is_default=True), "10.00"))
    today = timezone.localdate()
    upcoming = selectors.Period(first=today, last=today + timedelta(days=2), group="month")

    lines = selectors.get_attendance(period=upcoming)

    assert sum(line.to_come for line in lines) == 1
    assert sum(line.tickets for line in lines) == 1
    assert sum(line.no_shows for line in lines) == 0


def test_figures_made_by_the_real_services_add_up(staff, showtime, user):
    booking = pay(services.hold_seats(user=user, showtime=showtime, labels=["A1", "A2"]))
    services.refund_tickets(booking=booking, actor=None, reason="refunded by staff", labels=["A2"])
    ticket = Ticket.objects.get(booking=booking)
    CheckIn.objects.create(ticket=ticket, showtime=showtime)
    today = timezone.localdate()

    response = staff.get(PAGE, {"from": today.isoformat(), "to": today.isoformat()})

    assert response.status_code == 200
    revenue = response.context["revenue"]
    assert (revenue.taken, revenue.refunded, revenue.net) == (
        Decimal("20.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )
    ((film, _share),) = response.context["films"]
    assert (film.title, film.tickets, film.net) == ("Test Film", 1, Decimal("10.00"))


def test_the_page_shows_each_report_with_its_chart(staff, summer):
    response = staff.get(PAGE, {**SUMMER, "group": "week"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Reports: 23 Jun 2025 to 13 Jul 2025" in page
    assert "net revenue <strong>£27.74</strong>" in page
    assert "Net revenue is taken minus refunded." in page
    assertInHTML(
        '<tr><th scope="row">30 Jun to 6 Jul 2025</th><td class="num">£14.75</td>'
        '<td class="num">£10.00</td><td class="num">£4.75</td></tr>',
        page,
    )
    assertInHTML(
        '<tr><th scope="row">Refunded by staff</th><td class="num">1</td>'
        '<td class="num">£10.00</td><td class="num">£0.00</td></tr>',
        page,
    )
    assert page.count('<rect class="bar-value"') == 6  # three weeks, two charts
    for report in ("revenue", "films", "ticket-types", "vouchers", "refunds", "attendance"):
        assert f'href="/admin/reports/{report}.csv?from=2025-06-23&amp;to=2025-07-13' in page


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_revenue_csv_has_a_row_per_week_to_the_penny(staff, summer):
    response = staff.get("/admin/reports/revenue.csv", {**SUMMER, "group": "week"})

    assert response["Content-Disposition"].startswith(
        'attachment; filename="revenue-by-week-2025-06-23-to-2025-07-13-'
    )
    assert _csv(response) == [
        ["from", "to", "payments", "taken", "refunds", "refunded", "net"],
        ["2025-06-23", "2025-06-29", "1", "20.00", "0", "0.00", "20.00"],
        ["2025-06-30", "2025-07-06", "2", "14.75", "1", "10.00", "4.75"],
        ["2025-07-07", "2025-07-13", "1", "7.99", "1", "5.00", "2.99"],
    ]


def test_films_csv_writes_a_formula_title_as_text(staff, summer):
    rows = _csv(staff.get("/admin/reports/films.csv", SUMMER))

    assert rows == [
        ["film", "tickets", "taken", "refunded", "net"],
        ["Film A", "2", "27.99", "10.00", "17.99"],
        ["'=1+2 Rerun", "1", "14.75", "5.00", "9.75"],
    ]


def test_every_report_has_its_csv(staff, summer):
    headers = {
        "ticket-types": ["ticket_type", "tickets", "paid", "discount"],
        "vouchers": ["voucher", "bookings", "tickets", "discount", "paid"],
        "refunds": ["reason", "refunds", "amount", "owed"],
    }
    for report, header in headers.items():
        rows = _csv(staff.get(f"/admin/reports/{report}.csv", SUMMER))
        assert rows[0] == header, report
        assert len(rows) == 3 if report != "vouchers" else 2, report
    attendance = _csv(staff.get("/admin/reports/attendance.csv", {**SUMMER, "group": "month"}))
    assert attendance == [
        ["from", "to", "tickets", "checked_in", "no_shows", "to_come"],
        ["2025-06-23", "2025-06-30", "1", "1", "0", "0"],
        ["2025-07-01", "2025-07-13", "2", "1", "1", "0"],
    ]
    assert staff.get("/admin/reports/nothing.csv", SUMMER).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2025-13-01"}, "Give the first day as YYYY-MM-DD"),
        ({"to": "yesterday"}, "Give the last day as YYYY-MM-DD"),
        ({"from": "2025-07-10", "to": "2025-07-01"}, "The last day is before the first day."),
        (
            {"from": "2024-01-01", "to": "2025-01-01"},
            "A report covers at most 366 days; 2024-01-01 to 2025-01-01 is 367.",
        ),
        ({"group": "year"}, "Group by day, week or month."),
        (
            {"from": "0001-01-01", "to": "0001-01-02"},
            "0001-01-01 is out of range: give a year from 2 to 9998.",
        ),
        ({"from": "2025-06-01\x00"}, "contains a control character"),
        ({"from": "9" * 5000}, "Give the first day as YYYY-MM-DD"),
    ],
)
def test_bad_periods_are_400_with_the_reason(staff, query, message):
    page = staff.get(PAGE, query)
    download = staff.get("/admin/reports/revenue.csv", query)

    assert page.status_code == 400
    assert message in page.content.decode()
    assert download.status_code == 400
    assert message in download.content.decode()


@pytest.mark.parametrize("edge", [("0002-01-01", "0002-01-09"), ("9998-12-20", "9998-12-31")])
def test_the_first_and_last_years_allowed_report_nothing_without_failing(staff, edge):
    query = {"from": edge[0], "to": edge[1], "group": "week"}

    assert staff.get(PAGE, query).status_code == 200
    assert staff.get("/admin/reports/attendance.csv", query).status_code == 200


def test_a_whole_leap_year_is_allowed(staff):
    response = staff.get(PAGE, {"from": "2024-01-01", "to": "2024-12-31", "group": "month"})

    assert response.status_code == 200
    assert len(response.context["revenue"].lines) == 12


def test_the_period_defaults_to_this_month_by_day(staff):
    response = staff.get(PAGE)

    today = timezone.localdate()
    assert response.status_code == 200
    assert response.context["period"] == selectors.Period(
        first=today.replace(day=1), last=today, group="day"
    )
    csv_link = f"/admin/reports/films.csv?from={today.replace(day=1).isoformat()}&amp;to="
    assert csv_link + f"{today.isoformat()}&amp;group=day" in response.content.decode()


def test_only_staff_with_the_sales_permission_see_reports(client, user):
    assert client.get(PAGE)["Location"].startswith("/admin/login/")
    assert client.get("/admin/reports/revenue.csv")["Location"].startswith("/admin/login/")

    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    assert client.get("/admin/reports/revenue.csv").status_code == 403

    door = verified_user("doorman", is_staff=True)
    door.groups.add(Group.objects.get(name="Door"))
    client.force_login(door)
    assert client.get(PAGE).status_code == 403
    assert client.get("/admin/reports/films.csv").status_code == 403

    manager = verified_user("manager", is_staff=True)
    manager.groups.add(Group.objects.get(name="Manager"))
    client.force_login(manager)
    assert client.get(PAGE).status_code == 200
    assert client.get("/admin/reports/films.csv").status_code == 200


def test_the_back_office_links_to_reports(staff):
    assert 'href="/admin/reports/"' in staff.get("/admin/").content.decode()
    assert 'href="/admin/reports/"' in staff.get("/admin/sales/").content.decode()


def test_the_page_costs_the_same_queries_however_many_sales(
    staff, summer, auditorium, user, django_assert_max_num_queries
):
    # The session and the user, then revenue two, films three, ticket types, vouchers, refunds
    # and attendance one each.
    with django_assert_max_num_queries(11):
        first = staff.get(PAGE, {**SUMMER, "group": "day"})
    extra = schedule_showtime(
        movie=Movie.objects.get(title="Film A"),
        auditorium=auditorium,
        starts_at=local(date(2025, 7, 8), 15),
        price_list=one_price_list(Decimal("10.00")),
    )
    adult = TicketType.objects.get(is_default=True)
    for number, seat in enumerate(["B1", "B2", "B3", "B4", "C1", "C2"]):
        payment = sale(extra, user, local(date(2025, 7, 1 + number), 11), (seat, adult, "4.00"))
        if number % 2:
            refund(payment, seat, "4.00", local(date(2025, 7, 8), 9), reason=f"reason {number}")

    with django_assert_max_num_queries(11):
        second = staff.get(PAGE, {**SUMMER, "group": "day"})

    assert second.context["revenue"].taken == first.context["revenue"].taken + Decimal("24.00")
    assert second.context["revenue"].refunded == first.context["revenue"].refunded + Decimal(
        "12.00"
    )
