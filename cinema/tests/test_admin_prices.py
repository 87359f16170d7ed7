"""Staff edit a price list in admin as one table; every save is audited; bad prices are refused."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from audit.models import AuditEvent
from cinema.models import PriceList, TicketPrice, TicketType
from conftest import verified_user

pytestmark = pytest.mark.django_db


def _form(name: str, prices: list[tuple[int, str]], supplements: list[tuple[str, str]]) -> dict:
    data = {
        "name": name,
        "prices-TOTAL_FORMS": str(len(prices)),
        "prices-INITIAL_FORMS": "0",
        "supplements-TOTAL_FORMS": str(len(supplements)),
        "supplements-INITIAL_FORMS": "0",
    }
    for n, (ticket_type, price) in enumerate(prices):
        data |= {f"prices-{n}-ticket_type": str(ticket_type), f"prices-{n}-price": price}
    for n, (category, amount) in enumerate(supplements):
        data |= {f"supplements-{n}-category": category, f"supplements-{n}-amount": amount}
    return data


@pytest.fixture
def adult_and_child():
    return (
        TicketType.objects.create(name="Adult", is_default=True),
        TicketType.objects.create(name="Child", highest_rating="12A"),
    )


def test_staff_save_a_price_list_with_its_prices_and_it_is_audited(staff, adult_and_child):
    adult, child = adult_and_child
    response = staff.post(
        "/admin/cinema/pricelist/add/",
        _form("Peak", [(adult.pk, "12.50"), (child.pk, "8.00")], [("premium", "3.00")]),
    )
    assert response.status_code == 302, response.content[:2000]
    peak = PriceList.objects.get(name="Peak")
    assert {p.ticket_type.name: p.price for p in peak.prices.all()} == {
        "Adult": Decimal("12.50"),
        "Child": Decimal("8.00"),
    }
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PRICES_CHANGED)
    assert event.actor.username == "ops"
    assert event.detail == {
        "price_list": "Peak",
        "prices": {"Adult": "12.50", "Child": "8.00"},
        "supplements": {"premium": "3.00"},
    }


@pytest.mark.parametrize("price", ["-1.00", "750.00"])
def test_a_negative_or_absurd_price_is_refused_with_a_message(staff, adult_and_child, price):
    adult, _ = adult_and_child
    response = staff.post("/admin/cinema/pricelist/add/", _form("Peak", [(adult.pk, price)], []))
    assert response.status_code == 200
    assert "Ensure this value is" in response.text
    assert not PriceList.objects.exists() and not TicketPrice.objects.exists()
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PRICES_CHANGED).exists()


def test_the_price_list_page_renders_for_staff_and_not_for_customers(staff, bob):
    assert staff.get("/admin/cinema/pricelist/add/").status_code == 200
    customer = Client()
    customer.force_login(bob)
    assert customer.get("/admin/cinema/pricelist/add/").status_code == 302


def _use_price_list(client, showtimes, **extra):
    return client.post(
        "/admin/cinema/showtime/",
        {"action": "use_price_list", "_selected_action": [s.pk for s in showtimes], **extra},
    )


def test_staff_move_several_showtimes_to_a_price_list_at_once_audited(staff, showtime, movie):
    from datetime import timedelta

    from cinema.services import one_price_list, schedule_showtime

    later = schedule_showtime(
        movie=movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(hours=5),
        price_list=one_price_list(Decimal("10.00")),
    )
    peak = PriceList.objects.create(name="Peak")
    chooser = _use_price_list(staff, [showtime, later])
    assert chooser.status_code == 200 and "Choose a price list" in chooser.text
    done = _use_price_list(staff, [showtime, later], apply="yes", price_list=str(peak.pk))
    assert done.status_code == 302
    showtime.refresh_from_db()
    later.refresh_from_db()
    assert showtime.price_list == later.price_list == peak
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.PRICES_CHANGED)
    assert sorted(e.showtime_id for e in events) == sorted([showtime.pk, later.pk])
    assert {e.detail["price_list"] for e in events} == {"Peak"}


@pytest.mark.parametrize("price_list", ["", "999999", "not-a-number", "9" * 40])
def test_no_or_an_unknown_price_list_changes_nothing(staff, showtime, price_list):
    before = showtime.price_list
    response = _use_price_list(staff, [showtime], apply="yes", price_list=price_list)
    assert response.status_code == 400
    assert "Choose a price list." in response.text
    showtime.refresh_from_db()
    assert showtime.price_list == before
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PRICES_CHANGED).exists()


def test_staff_who_may_only_view_showtimes_cannot_change_their_price_list(showtime):
    viewer = verified_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_showtime"))
    client = Client()
    client.force_login(viewer)
    before = showtime.price_list
    peak = PriceList.objects.create(name="Peak")
    _use_price_list(client, [showtime], apply="yes", price_list=str(peak.pk))
    showtime.refresh_from_db()
    assert showtime.price_list == before
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PRICES_CHANGED).exists()
