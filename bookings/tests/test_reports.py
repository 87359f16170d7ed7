"""The back-office sales pages: what a showtime sold, and how full a day's showtimes are."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from bookings import reports
from bookings.models import Booking, Ticket
from cinema.models import Auditorium, TicketType
from cinema.services import one_price_list, save_auditorium, schedule_showtime
from infra.dates import show_when

pytestmark = pytest.mark.django_db

# A summer day, so London local time (BST) is an hour off UTC and day edges matter.
SUMMER_DAY = date(2030, 7, 15)


def sell(showtime, label, *, price="10.00", ticket_type=None, sold_at=None, user=None):
    """A confirmed ticket for one seat, in the seat's own category."""
    seat = showtime.auditorium.seats.get(label=label)
    booking = Booking.objects.create(
        user=user,
        showtime=showtime,
        amount=Decimal(price),
        seat_labels=[label],
        status=Booking.Status.CONFIRMED,
    )
    return Ticket.objects.create(
        booking=booking,
        showtime=showtime,
        seat=seat,
        ticket_type=ticket_type or TicketType.objects.get(is_default=True),
        category=seat.kind,
        price=Decimal(price),
        sold_at=sold_at or timezone.now(),
    )


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def on(showtime) -> str:
    return f"/admin/sales/{showtime.pk}/"


@pytest.fixture
def other_hall(db):
    return save_auditorium(auditorium=Auditorium(name="Other Hall", layout="A  ssss"))


@pytest.fixture
def sold_three(showtime, user):
    """A1 Adult £9, A2 Child £6 (standard) and a wheelchair space, Adult £10."""
    child = TicketType.objects.create(name="Child", position=5)
    wheelchair = showtime.auditorium.seats.filter(kind="accessible").first().label
    sell(showtime, "A1", price="9.00", user=user)
    sell(showtime, "A2", price="6.00", ticket_type=child, user=user)
    sell(showtime, wheelchair, price="10.00", user=user)
    return showtime


def test_showtime_sales_count_and_sum_by_category_and_ticket_type(sold_three):
    sales = reports.get_showtime_sales(showtime_id=sold_three.pk)

    assert [(line.label, line.sold, line.revenue) for line in sales.by_category] == [
        ("Standard", 2, Decimal("15.00")),
        ("Wheelchair space", 1, Decimal("10.00")),
    ]
    assert [(line.label, line.sold, line.revenue) for line in sales.by_ticket_type] == [
        ("Adult", 2, Decimal("19.00")),
        ("Child", 1, Decimal("6.00")),
    ]
    assert (sales.sold, sales.capacity, sales.revenue) == (3, 23, Decimal("25.00"))


def test_showtime_page_shows_the_breakdowns_and_sold_over_capacity(staff, sold_three):
    response = staff.get(on(sold_three))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Sales: Test Film, {show_when(sold_three.starts_at)}" in page
    assert "3 of 23</strong>" in page
    assertInHTML(
        '<tr><th scope="row">Child</th><td class="num">1</td><td class="num">£6.00</td></tr>',
        page,
    )
    assertInHTML(
        '<tr><th scope="row">Standard</th><td class="num">2</td><td class="num">£15.00</td></tr>',
        page,
    )
    assertInHTML(
        '<tr><th scope="row">Total</th><td class="num">3</td><td class="num">£25.00</td></tr>',
        page,
        count=2,
    )


def test_sales_over_time_are_cumulative_per_local_hour(staff, showtime, user):
    hour = timezone.localtime().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    sell(showtime, "A1", sold_at=hour + timedelta(minutes=5), user=user)
    sell(showtime, "A2", sold_at=hour + timedelta(minutes=50), user=user)
    sell(showtime, "A3", sold_at=hour + timedelta(hours=3, minutes=1), user=user)

    response = staff.get(on(showtime))

    sales = response.context["sales"]
    assert sales.bucket == "hour"
    assert [(b.starts_at, b.sold, b.total) for b in sales.buckets] == [
        (hour, 2, 2),
        (hour + timedelta(hours=3), 1, 3),
    ]
    assertInHTML(
        f'<tr><th scope="row">{show_when(hour + timedelta(hours=3))}</th>'
        '<td class="num">1</td><td class="num">3</td></tr>',
        response.content.decode(),
    )
    assert '<svg class="sales-chart"' in response.content.decode()


def test_sales_spread_over_days_are_counted_per_day(showtime, user):
    today = timezone.localdate()
    sell(showtime, "A1", sold_at=local(today - timedelta(days=5), 10), user=user)
    sell(showtime, "A2", sold_at=local(today - timedelta(days=5), 18), user=user)
    sell(showtime, "A3", sold_at=local(today - timedelta(days=2), 9), user=user)

    sales = reports.get_showtime_sales(showtime_id=showtime.pk)

    assert sales.bucket == "day"
    assert [(b.starts_at.date(), b.sold, b.total) for b in sales.buckets] == [
        (today - timedelta(days=5), 2, 2),
        (today - timedelta(days=2), 1, 3),
    ]


def test_a_showtime_without_sales_says_so(staff, showtime):
    response = staff.get(on(showtime))

    assert response.status_code == 200
    assert "0 of 23</strong>" in response.content.decode()
    assert "No tickets sold yet." in response.content.decode()
    assert response.context["sales"].chart is None


def test_an_unknown_showtime_is_404(staff, showtime):
    assert staff.get(f"/admin/sales/{showtime.pk + 1000}/").status_code == 404


def test_showtime_page_queries_do_not_grow_with_tickets(
    staff, showtime, user, django_assert_max_num_queries
):
    child = TicketType.objects.create(name="Child")
    start = timezone.now() - timedelta(days=3)
    for number, seat in enumerate(showtime.auditorium.seats.filter(blocked=False)):
        sell(
            showtime,
            seat.label,
            ticket_type=child if number % 2 else None,
            sold_at=start + timedelta(hours=number * 3),
            user=user,
        )

    # The signed-in user, the showtime with its capacity, three over its tickets.
    with django_assert_max_num_queries(5):
        response = staff.get(on(showtime))

    assert response.context["sales"].sold == 23


@pytest.fixture
def summer_day(movie, auditorium, other_hall, user):
    """Showtimes around SUMMER_DAY in local time; the 00:30 one has two tickets sold."""
    price_list = one_price_list(Decimal("10.00"))
    starts = {
        "day before, late": (other_hall, local(SUMMER_DAY - timedelta(days=1), 23, 30)),
        "just after midnight": (auditorium, local(SUMMER_DAY, 0, 30)),
        "evening": (other_hall, local(SUMMER_DAY, 19, 0)),
        "last of the day": (auditorium, local(SUMMER_DAY, 23, 30)),
        "day after, early": (other_hall, local(SUMMER_DAY + timedelta(days=1), 0, 15)),
    }
    showtimes = {
        name: schedule_showtime(
            movie=movie, auditorium=hall, starts_at=starts_at, price_list=price_list
        )
        for name, (hall, starts_at) in starts.items()
    }
    sell(showtimes["just after midnight"], "A1", user=user)
    sell(showtimes["just after midnight"], "A2", price="7.50", user=user)
    sell(showtimes["evening"], "A1", user=user)
    return showtimes


def test_day_page_lists_only_that_local_days_showtimes_with_their_occupancy(staff, summer_day):
    response = staff.get("/admin/sales/", {"date": SUMMER_DAY.isoformat()})

    assert response.status_code == 200
    rows = response.context["report"].showtimes
    assert [(row.showtime, row.sold, row.capacity) for row in rows] == [
        (summer_day["just after midnight"], 2, 23),
        (summer_day["evening"], 1, 4),
        (summer_day["last of the day"], 0, 23),
    ]
    assert [row.percent for row in rows] == [9, 25, 0]
    page = response.content.decode()
    assert f'href="/admin/sales/{summer_day["just after midnight"].pk}/"' in page
    assert f'href="/admin/sales/{summer_day["day after, early"].pk}/"' not in page
    assert '<rect class="quiet" width="25.0"' in page
    assert "2 / 23 (9%)" in page
    assert 'href="?date=2030-07-14"' in page
    assert 'href="?date=2030-07-16"' in page


def test_day_page_defaults_to_today(staff, movie, other_hall):
    noon = local(timezone.localdate(), 12)
    showtime = schedule_showtime(
        movie=movie,
        auditorium=other_hall,
        starts_at=noon,
        price_list=one_price_list(Decimal("10.00")),
    )

    response = staff.get("/admin/sales/")

    assert response.status_code == 200
    assert [row.showtime for row in response.context["report"].showtimes] == [showtime]


def test_day_page_queries_do_not_grow_with_showtimes(
    staff, summer_day, django_assert_max_num_queries
):
    # The signed-in user, then every showtime with its tickets and capacity at once.
    with django_assert_max_num_queries(2):
        response = staff.get("/admin/sales/", {"date": SUMMER_DAY.isoformat()})

    assert len(response.context["report"].showtimes) == 3


@pytest.mark.parametrize("value", ["2030-13-01", "2030-02-30", "yesterday", "0001-01-01"])
def test_a_bad_date_is_a_400_that_says_what_to_give(staff, value):
    response = staff.get("/admin/sales/", {"date": value})

    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()


def test_customers_cannot_see_the_sales_pages(client, user, sold_three):
    client.force_login(user)
    for url in (on(sold_three), "/admin/sales/"):
        response = client.get(url)
        assert response.status_code != 200
        assert "£25.00" not in response.content.decode()
        assert "Test Film" not in response.content.decode()


def test_visitors_are_sent_to_sign_in(client, sold_three):
    response = client.get(on(sold_three))

    assert response.status_code == 302
    assert "login" in response.url
