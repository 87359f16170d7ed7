"""What seats cost: a showtime's price list, each seat's ticket type and category.

`quote` prices a selection exactly as it will be charged (Decimal, the list's prices as they are
now); checkout shows it, and the booking keeps each line's amounts.
"""

from dataclasses import dataclass
from decimal import Decimal

from cinema.models import Seat, SeatSupplement, Showtime, TicketPrice, TicketType


class PricingError(ValueError):
    """A selection that cannot be priced; the message is for the buyer."""


@dataclass(frozen=True)
class Line:
    seat: str
    ticket_type: TicketType
    category: str  # Seat.Kind
    price: Decimal  # of the ticket type on the showtime's list
    supplement: Decimal  # of the seat's category on that list

    @property
    def amount(self) -> Decimal:
        return self.price + self.supplement


@dataclass(frozen=True)
class Quote:
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def quote(*, showtime: Showtime, choices: dict[str, int]) -> Quote:
    """Price `choices` (seat label -> ticket type id) on the showtime's price list, or raise
    PricingError naming what cannot be sold: a seat not in the hall, a ticket type not on the
    list, or one not allowed for the film's age rating."""
    if showtime.price_list_id is None:
        raise PricingError("This showtime has no prices yet.")
    prices = {
        price.ticket_type_id: price
        for price in TicketPrice.objects.filter(price_list_id=showtime.price_list_id)
        .select_related("ticket_type")
        .filter(ticket_type_id__in=set(choices.values()))
    }
    supplements = dict(
        SeatSupplement.objects.filter(price_list_id=showtime.price_list_id).values_list(
            "category", "amount"
        )
    )
    kinds = dict(
        Seat.objects.filter(auditorium_id=showtime.auditorium_id, label__in=choices).values_list(
            "label", "kind"
        )
    )
    rating = showtime.movie.age_rating
    lines = []
    for label, type_id in choices.items():
        if label not in kinds:
            raise PricingError(f"There is no seat {label} in this screen.")
        price = prices.get(type_id)
        if price is None:
            raise PricingError("That ticket type is not sold for this showtime.")
        if not price.ticket_type.allowed_for(rating):
            article = "an" if rating.startswith("18") else "a"
            raise PricingError(
                f"{price.ticket_type.name} tickets are not sold for {article} {rating} film."
            )
        lines.append(
            Line(
                seat=label,
                ticket_type=price.ticket_type,
                category=kinds[label],
                price=price.price,
                supplement=supplements.get(kinds[label], Decimal("0.00")),
            )
        )
    return Quote(lines=tuple(lines))


def cheapest_price(*, showtime: Showtime) -> Decimal | None:
    """The "from" price of a showtime: its list's lowest ticket price allowed for the film."""
    if showtime.price_list_id is None:
        return None
    allowed = [
        price.price
        for price in TicketPrice.objects.filter(
            price_list_id=showtime.price_list_id
        ).select_related("ticket_type")
        if price.ticket_type.allowed_for(showtime.movie.age_rating)
    ]
    return min(allowed, default=None)
