"""What seats cost: a showtime's price list, each seat's ticket type and category, a voucher.

`quote` prices a selection exactly as it will be charged (Decimal, the list's prices as they are
now); checkout shows it, and the booking keeps its lines (`Quote.as_data`) so the buyer pays the
price shown when they chose, whatever happens to the list afterwards.

A price list is read once per process and version (`price_card`): the seat map, the hold and the
listings price seats without a query of their own.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.utils import timezone

from cinema.models import (
    PriceList,
    Seat,
    SeatSupplement,
    Showtime,
    TicketPrice,
    Voucher,
    sold_for,
)
from infra.dates import show_when
from infra.domain import DomainError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class PricingError(DomainError):
    """A selection that cannot be priced; the message is for the buyer."""

    code = "not_for_sale"


@dataclass(frozen=True, slots=True)
class Offer:
    """A ticket type as one price list sells it."""

    type_id: int
    name: str
    rule: str
    highest_rating: str
    is_default: bool
    price: Decimal

    def allowed_for(self, rating: str) -> bool:
        return sold_for(rating, highest=self.highest_rating)


@dataclass(frozen=True)
class PriceCard:
    """A price list as read at one version: its offers in checkout order, its supplements."""

    name: str
    offers: tuple[Offer, ...]
    supplements: Mapping[str, Decimal]

    def offers_for(self, rating: str) -> list[Offer]:
        return [offer for offer in self.offers if offer.allowed_for(rating)]

    def default_for(self, rating: str) -> Offer | None:
        """The type every seat starts with: the default one, else the first allowed."""
        offers = self.offers_for(rating)
        return next((offer for offer in offers if offer.is_default), offers[0] if offers else None)

    def from_price(self, rating: str) -> Decimal | None:
        return min((offer.price for offer in self.offers_for(rating)), default=None)

    def supplement(self, category: str) -> Decimal:
        return self.supplements.get(category, ZERO)


_cards: dict[tuple[int, str], PriceCard] = {}
_MAX_CARDS = 256


def price_card(price_list: PriceList) -> PriceCard:
    """The list's card, read from the database only when this process has not seen its current
    version (a change to any of its prices gives it a new one: cinema.signals)."""
    key = (price_list.pk, price_list.version)
    card = _cards.get(key)
    if card is None:
        offers = tuple(
            Offer(
                type_id=price.ticket_type_id,
                name=price.ticket_type.name,
                rule=price.ticket_type.rule,
                highest_rating=price.ticket_type.highest_rating,
                is_default=price.ticket_type.is_default,
                price=price.price,
            )
            for price in TicketPrice.objects.filter(price_list_id=price_list.pk)
            .select_related("ticket_type")
            .order_by("ticket_type__position", "ticket_type__name")
        )
        supplements = dict(
            SeatSupplement.objects.filter(price_list_id=price_list.pk).values_list(
                "category", "amount"
            )
        )
        card = PriceCard(name=price_list.name, offers=offers, supplements=supplements)
        if len(_cards) >= _MAX_CARDS:
            _cards.clear()
        _cards[key] = card
    return card


def showtime_card(showtime: Showtime) -> PriceCard:
    """The showtime's card (select_related("price_list") spares the query for the list row)."""
    return price_card(showtime.price_list)


@dataclass(frozen=True)
class Line:
    seat: str
    type_id: int
    type_name: str
    category: str  # Seat.Kind
    price: Decimal  # of the ticket type on the showtime's list
    supplement: Decimal  # of the seat's category on that list
    discount: Decimal = ZERO  # this seat's share of the voucher

    @property
    def category_name(self) -> str:
        return Seat.Kind(self.category).label

    @property
    def amount(self) -> Decimal:
        """Before the voucher."""
        return self.price + self.supplement

    @property
    def paid(self) -> Decimal:
        return self.amount - self.discount


@dataclass(frozen=True)
class Quote:
    lines: tuple[Line, ...]

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    def as_data(self) -> list[dict]:
        """Plain data to keep on the booking (amounts as strings, exact)."""
        return [
            {
                "seat": line.seat,
                "type": line.type_id,
                "type_name": line.type_name,
                "category": line.category,
                "price": str(line.price),
                "supplement": str(line.supplement),
                "discount": str(line.discount),
            }
            for line in self.lines
        ]

    @classmethod
    def from_data(cls, data: list[dict]) -> "Quote":
        return cls(
            lines=tuple(
                Line(
                    seat=item["seat"],
                    type_id=item["type"],
                    type_name=item["type_name"],
                    category=item["category"],
                    price=Decimal(item["price"]),
                    supplement=Decimal(item["supplement"]),
                    discount=Decimal(item["discount"]),
                )
                for item in data
            )
        )

    def choices(self) -> dict[str, int]:
        return {line.seat: line.type_id for line in self.lines}


def quote(
    *,
    showtime: Showtime,
    choices: Mapping[str, int],
    kinds: Mapping[str, str] | None = None,
    voucher: Voucher | None = None,
) -> Quote:
    """Price `choices` (seat label -> ticket type id) on the showtime's price list, less the
    `voucher` (already checked, see `check_voucher`), or raise PricingError naming what cannot
    be sold: a seat not in the hall, a ticket type not on the list, or one not allowed for the
    film's age rating. `kinds` (label -> seat category) spares a query when the caller has them.
    """
    card = showtime_card(showtime)
    if kinds is None:
        kinds = dict(
            Seat.objects.filter(auditorium_id=showtime.auditorium_id, label__in=choices)
            .values_list("label", "kind")
            .order_by()
        )
    offers = {offer.type_id: offer for offer in card.offers}
    rating = showtime.movie.age_rating
    lines = []
    for label, type_id in choices.items():
        if label not in kinds:
            raise PricingError(f"There is no seat {label} in this screen.")
        offer = offers.get(type_id)
        if offer is None:
            raise PricingError("That ticket type is not sold for this showtime.")
        if not offer.allowed_for(rating):
            article = "an" if rating.startswith("18") else "a"
            raise PricingError(f"{offer.name} tickets are not sold for {article} {rating} film.")
        lines.append(
            Line(
                seat=label,
                type_id=type_id,
                type_name=offer.name,
                category=kinds[label],
                price=offer.price,
                supplement=card.supplement(kinds[label]),
            )
        )
    priced = Quote(lines=tuple(lines))
    return priced if voucher is None else _discounted(priced, voucher)


def default_choices(*, showtime: Showtime, labels: list[str]) -> dict[str, int]:
    """Every seat on the showtime's default ticket type, or PricingError if nothing is sold."""
    offer = showtime_card(showtime).default_for(showtime.movie.age_rating)
    if offer is None:
        raise PricingError("Tickets for this showtime are not on sale yet.")
    return dict.fromkeys(labels, offer.type_id)


def cheapest_price(*, showtime: Showtime) -> Decimal | None:
    """The "from" price of a showtime: its list's lowest ticket price allowed for the film."""
    return showtime_card(showtime).from_price(showtime.movie.age_rating)


# Vouchers --------------------------------------------------------------------------------------


def check_voucher(*, voucher: Voucher, showtime: Showtime, now: datetime | None = None) -> None:
    """Raise PricingError if `voucher` cannot be used for `showtime` now (its uses are counted
    when it is redeemed: bookings.checkout)."""
    now = now or timezone.now()
    code = voucher.code
    if voucher.valid_from and now < voucher.valid_from:
        raise PricingError(f"{code} can be used from {show_when(voucher.valid_from)}.")
    if voucher.valid_until and now >= voucher.valid_until:
        raise PricingError(f"{code} has expired.")
    if voucher.uses >= voucher.max_uses:
        raise PricingError(f"{code} has been used up.")
    showtimes = set(voucher.showtimes.values_list("pk", flat=True))
    if showtimes and showtime.pk not in showtimes:
        raise PricingError(f"{code} is not valid for this showtime.")


def _discounted(priced: Quote, voucher: Voucher) -> Quote:
    """The quote less the voucher, each seat carrying its share (so each ticket records what
    was paid for it, and a refund gives back exactly that)."""
    types = set(voucher.ticket_types.values_list("pk", flat=True))
    eligible = [i for i, line in enumerate(priced.lines) if not types or line.type_id in types]
    if not eligible:
        names = ", ".join(sorted(voucher.ticket_types.values_list("name", flat=True)))
        raise PricingError(f"{voucher.code} is only for {names} tickets.")
    shares = _shares(voucher, [priced.lines[i].amount for i in eligible])
    lines = list(priced.lines)
    for i, share in zip(eligible, shares, strict=True):
        lines[i] = replace(lines[i], discount=share)
    return Quote(lines=tuple(lines))


def _shares(voucher: Voucher, amounts: list[Decimal]) -> list[Decimal]:
    if voucher.kind == Voucher.Kind.PERCENT:
        rate = voucher.value / 100
        return [(amount * rate).quantize(CENT, ROUND_HALF_UP) for amount in amounts]
    # An amount off the booking, never more than the tickets it is for, spread over them in
    # proportion (rounded down); the dearest takes the odd cents, so the shares add up.
    whole = sum(amounts, ZERO)
    off = min(voucher.value, whole)
    if whole == 0:
        return [ZERO for _ in amounts]
    shares = [(off * amount / whole).quantize(CENT, ROUND_DOWN) for amount in amounts]
    dearest = amounts.index(max(amounts))
    shares[dearest] += off - sum(shares, ZERO)
    return shares
