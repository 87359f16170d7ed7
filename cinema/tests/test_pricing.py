"""Prices: ticket types on a showtime's price list, seat category supplements, the age rule."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cinema.models import Movie, PriceList, Seat, SeatSupplement, TicketPrice, TicketType
from cinema.pricing import PricingError, cheapest_price, default_choices, quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def types(showtime):
    # The showtime's own list (conftest) already sells the default type, Adult.
    return {
        "adult": TicketType.objects.get(name="Adult", is_default=True),
        "child": TicketType.objects.create(name="Child", rule="Under 15", highest_rating="12A"),
        "senior": TicketType.objects.create(name="Senior", rule="60 and over"),
    }


@pytest.fixture
def peak(types, showtime):
    peak = PriceList.objects.create(name="Peak")
    for key, price in {"adult": "12.50", "child": "8.00"}.items():
        TicketPrice.objects.create(price_list=peak, ticket_type=types[key], price=Decimal(price))
    SeatSupplement.objects.create(price_list=peak, category=Seat.Kind.PREMIUM, amount=Decimal("3"))
    SeatSupplement.objects.create(price_list=peak, category=Seat.Kind.VIP, amount=Decimal("6.50"))
    showtime.price_list = peak
    showtime.save(update_fields=["price_list"])
    return peak


def _make(showtime, category: str, *labels: str) -> None:
    Seat.objects.filter(auditorium=showtime.auditorium, label__in=labels).update(kind=category)


def test_a_mixed_selection_adds_each_ticket_type_and_each_category_supplement(
    showtime, types, peak
):
    _make(showtime, Seat.Kind.PREMIUM, "B1", "B2")
    _make(showtime, Seat.Kind.VIP, "C1")
    priced = quote(
        showtime=showtime,
        choices={
            "A1": types["adult"].pk,
            "B1": types["adult"].pk,
            "B2": types["child"].pk,
            "C1": types["child"].pk,
        },
    )
    amounts = {line.seat: (line.price, line.supplement, line.amount) for line in priced.lines}
    assert amounts == {
        "A1": (Decimal("12.50"), Decimal("0.00"), Decimal("12.50")),
        "B1": (Decimal("12.50"), Decimal("3.00"), Decimal("15.50")),
        "B2": (Decimal("8.00"), Decimal("3.00"), Decimal("11.00")),
        "C1": (Decimal("8.00"), Decimal("6.50"), Decimal("14.50")),
    }
    assert priced.total == Decimal("53.50")
    assert {line.category for line in priced.lines} == {"standard", "premium", "vip"}


def test_no_child_tickets_for_an_18_film(showtime, types, peak):
    showtime.movie.age_rating = Movie.AgeRating.R18
    showtime.movie.save(update_fields=["age_rating"])
    with pytest.raises(PricingError, match="Child tickets are not sold for an 18 film"):
        quote(showtime=showtime, choices={"A1": types["child"].pk})
    assert quote(showtime=showtime, choices={"A1": types["adult"].pk}).total == Decimal("12.50")


@pytest.mark.parametrize("rating", ["U", "PG", "12A"])
def test_child_tickets_for_films_up_to_12a(showtime, types, peak, rating):
    showtime.movie.age_rating = rating
    showtime.movie.save(update_fields=["age_rating"])
    assert quote(showtime=showtime, choices={"A1": types["child"].pk}).total == Decimal("8.00")


def test_a_ticket_type_not_on_the_price_list_is_refused(showtime, types, peak):
    with pytest.raises(PricingError, match="not sold for this showtime"):
        quote(showtime=showtime, choices={"A1": types["senior"].pk})


def test_a_seat_not_in_the_screen_is_refused(showtime, types, peak):
    with pytest.raises(PricingError, match="no seat Z99"):
        quote(showtime=showtime, choices={"Z99": types["adult"].pk})


def test_a_list_with_nothing_the_film_may_be_sold_as_sells_nothing(showtime, types):
    children_only = PriceList.objects.create(name="Kids' club")
    TicketPrice.objects.create(price_list=children_only, ticket_type=types["child"], price=5)
    showtime.price_list = children_only
    showtime.movie.age_rating = Movie.AgeRating.R18
    with pytest.raises(PricingError, match="not on sale yet"):
        default_choices(showtime=showtime, labels=["A1"])
    assert cheapest_price(showtime=showtime) is None


def test_the_from_price_is_the_cheapest_ticket_allowed_for_the_film(showtime, types, peak):
    assert cheapest_price(showtime=showtime) == Decimal("8.00")
    showtime.movie.age_rating = Movie.AgeRating.R18
    showtime.movie.save(update_fields=["age_rating"])
    assert cheapest_price(showtime=showtime) == Decimal("12.50")


@pytest.mark.parametrize("price", ["-0.01", "500.01", "9999.00"])
def test_a_negative_or_absurd_price_is_refused_by_the_form_and_the_database(types, price):
    price_list = PriceList.objects.create(name="Off-peak")
    row = TicketPrice(price_list=price_list, ticket_type=types["adult"], price=Decimal(price))
    with pytest.raises(ValidationError):
        row.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


@pytest.mark.parametrize("amount", ["-1.00", "100.01"])
def test_a_negative_or_absurd_supplement_is_refused_by_the_database(amount):
    price_list = PriceList.objects.create(name="Off-peak")
    row = SeatSupplement(price_list=price_list, category=Seat.Kind.VIP, amount=Decimal(amount))
    with pytest.raises(ValidationError):
        row.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_one_ticket_type_is_the_default(types):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketType.objects.create(name="Student", is_default=True)


def test_one_price_per_ticket_type_on_a_list(types, peak):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketPrice.objects.create(price_list=peak, ticket_type=types["adult"], price=Decimal(1))
