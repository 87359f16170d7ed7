"""What the API answers, as types: they make the OpenAPI schema and check every answer."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, StringConstraints


class Problem(Schema):
    """A refusal (RFC 9457): `code` is stable, `detail` is for people."""

    type: str
    title: str
    status: int
    code: str = Field(examples=["seats_unavailable"])
    detail: str


class Film(Schema):
    slug: str
    title: str
    runtime_minutes: int
    age_rating: str


class ShowtimeOut(Schema):
    id: int
    film: Film
    auditorium: str
    starts_at: datetime
    ends_at: datetime
    format: str = Field(description="2d, 3d or imax")
    subtitled: bool
    audio_described: bool
    on_sale: bool = Field(description="Whether seats can be held now")
    on_sale_at: datetime | None = Field(description="When seats go on sale, if later")
    waiting_room: bool = Field(description="Shoppers queue at /showtimes/<id>/queue/ first")
    seats_left: int
    from_price: str | None = Field(description="The cheapest ticket, in `currency`")
    currency: str


class SeatOut(Schema):
    label: str
    row: str
    number: int
    kind: str = Field(description="standard, premium, vip, accessible or companion")
    state: str = Field(description="available, held, mine (held by you), booked or blocked")


class SeatMapOut(Schema):
    showtime: int
    version: int = Field(
        description="The seat-state version the seats were read at: of two readings of a seat, "
        "the higher version is the newer"
    )
    seats: list[SeatOut]


class TicketTypeOut(Schema):
    id: int
    name: str
    price: str
    default: bool


class PricesOut(Schema):
    showtime: int
    price_list: str
    currency: str
    ticket_types: list[TicketTypeOut] = Field(description="Those sold for this film's rating")
    supplements: dict[str, str] = Field(description="Added per seat of each category")


class MeOut(Schema):
    id: int
    username: str
    email: str
    email_confirmed: bool = Field(description="Holding seats needs a confirmed address")
    staff: bool


Label = Annotated[str, StringConstraints(min_length=1, max_length=10)]


class HoldIn(Schema):
    """Either the seats by label, or the `best` n seats available."""

    seats: list[Label] = Field(default_factory=list, max_length=50)
    best: int | None = Field(None, ge=1, le=50)


class BookingOut(Schema):
    ref: str
    status: str = Field(description="pending (held), confirmed, cancelled or expired")
    showtime: int
    seats: list[str]
    amount: str = Field(description="What is charged, in `currency`")
    currency: str
    expires_at: datetime | None = Field(description="When a pending hold runs out")
    created_at: datetime


class CancelOut(Schema):
    booking: BookingOut
    refunded: str | None = Field(description="The amount going back, if any")


class PayIn(Schema):
    total: Decimal | None = Field(
        None, ge=0, max_digits=9, decimal_places=2, description="The total you showed the buyer"
    )


class PaymentOut(Schema):
    url: str = Field(description="The payment provider's page: send the buyer there")
    booking: BookingOut
