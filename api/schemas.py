"""What the API answers, as types: they make the OpenAPI schema and check every answer."""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints


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
    subtitled: bool = Field(description="Subtitles in some language, or open captions")
    audio_language: str = Field(description="The soundtrack's language if dubbed; '': original")
    subtitle_language: str = Field(description="The subtitles' language; '': none")
    open_captions: bool
    audio_described: bool
    relaxed: bool = Field(description="Autism-friendly: lights up low, sound down")
    parent_and_baby: bool
    seniors: bool
    access_notes: str
    kinds: list[str] = Field(
        description="The screening's kinds in words, as the site shows them",
        examples=[["3D", "English subtitles", "Relaxed screening"]],
    )
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
    state: str = Field(
        description="available, held, mine (held by you), booked, blocked, or kept (free, but "
        "kept for wheelchair users until the showtime's wheelchair_release_at)"
    )


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


# Text as people type it: no control characters but tabs and line breaks (infra.edge).
Text = Annotated[
    str, StringConstraints(pattern=r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")
]


def _iso_day(value):
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a day is YYYY-MM-DD")
    return value


# A local day, written as YYYY-MM-DD (not a number of seconds, as pydantic would also read).
Day = Annotated[date, BeforeValidator(_iso_day)]
# A seat's label: its row's letters, then its number ("C7").
Label = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[0-9]{1,3}$")]
# A booking's reference, as the API gives it.
Ref = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{1,32}$")]
# An amount of money as text, to the penny ("12.50"): exact, as the API's amounts are.
Money = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]


WHEELCHAIR = (
    "The buyer needs a wheelchair space: until the showtime's release time only such a buyer may "
    "hold spaces and companion seats, a companion seat with its space. No proof is asked."
)


class HoldSeats(Schema):
    """These seats, by label."""

    model_config = ConfigDict(extra="forbid")
    seats: list[Label] = Field(min_length=1, max_length=50)
    wheelchair: bool = Field(False, strict=True, description=WHEELCHAIR)


class HoldBest(Schema):
    """The best `best` seats available, side by side where possible."""

    model_config = ConfigDict(extra="forbid")
    best: int = Field(ge=1, le=50, strict=True)
    wheelchair: bool = Field(
        False,
        strict=True,
        description=f"{WHEELCHAIR} With it, `best` 1 finds a space, 2 a space and its companion.",
    )


HoldIn = HoldSeats | HoldBest


class BookingOut(Schema):
    ref: str
    status: str = Field(
        description="pending (held), confirmed, cancelled, expired or exchanged (replaced by "
        "another booking)"
    )
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
    total: Money | None = Field(None, description="The total you showed the buyer, e.g. 12.50")


class PaymentOut(Schema):
    url: str = Field(
        description="Where to send the buyer to pay, a path on this site or the provider's "
        "address: the mock provider's hosted page, or, with Stripe, this site's own checkout page, "
        "which takes the card with Stripe.js (3-D Secure included) and sends the buyer back to "
        "the booking's return page"
    )
    booking: BookingOut


class TicketOut(Schema):
    seat: str
    type: str = Field(description="The ticket type's name, e.g. Adult")
    type_id: int | None = Field(description="The ticket type (see the showtime's prices)")
    category: str = Field(description="The seat's category: standard, premium, vip, ...")
    price: str = Field(description="What this seat costs, after any voucher, in `currency`")
    code: str | None = Field(
        description="The QR code's text, scanned at the door; only once the booking is paid"
    )


# The kinds of access device a hall may lend (cinema.AccessDevice.Kind).
DeviceKind = Literal["audio_description", "captions"]


class DeviceOut(Schema):
    id: int = Field(description="Send it to take the device off the booking")
    kind: DeviceKind
    name: str = Field(description="As the buyer reads it, e.g. Caption device")
    returned: bool = Field(description="Handed back at the door after the show")


class BookingDetailOut(BookingOut):
    offered: bool = Field(
        description="The seats were offered to you from the showtime's waiting list: "
        "`expires_at` is the end of the claim window"
    )
    voucher: str | None
    discount: str = Field(description="Taken off by the voucher, in `currency`")
    tickets: list[TicketOut]
    devices: list[DeviceOut] = Field(description="Access devices lent with it, to collect")


class DeviceIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: DeviceKind = Field(
        description="audio_description (a headset) or captions (a caption device)"
    )


class DeviceStockOut(Schema):
    kind: DeviceKind
    name: str
    left: int = Field(description="How many are still free for this showtime")


class TicketsIn(Schema):
    """A ticket type per seat, for some or all of the booking's seats."""

    choices: dict[Label, Annotated[int, Field(ge=1, strict=True)]] = Field(
        examples=[{"A1": 1}], max_length=50
    )


class VoucherIn(Schema):
    code: Annotated[Text, StringConstraints(min_length=1, max_length=32)]


# A seat category, as the seat map's `kind` names it.
Category = Annotated[str, StringConstraints(pattern=r"^[a-z]{1,20}$")]


class WaitlistIn(Schema):
    """A place on a sold-out showtime's waiting list: how many seats, side by side where the
    hall has them, and which categories will do."""

    model_config = ConfigDict(extra="forbid")
    seats: int = Field(ge=1, le=50, strict=True)
    categories: list[Category] = Field(
        [], max_length=5, description="The seat kinds you accept (see the seat map); empty: any"
    )


class OfferOut(Schema):
    booking: str = Field(description="The ref of the booking holding the seats: pay it to claim")
    seats: list[str]
    until: datetime = Field(description="When the offer lapses to the next in line")


class WaitlistOut(Schema):
    showtime: int
    seats: int
    categories: list[str]
    status: str = Field(
        description="waiting, offered (seats held for you: see `offer`), claimed, lapsed or left"
    )
    place: int | None = Field(description="Your place in line while waiting (1: next)")
    joined_at: datetime
    offer: OfferOut | None


# Staff.


class ExchangeIn(Schema):
    """Where a paid booking moves: this showtime or another of the same film, and as many new
    seats as it has tickets (each keeps its ticket type)."""

    model_config = ConfigDict(extra="forbid")
    showtime: int = Field(ge=1, strict=True)
    seats: list[Label] = Field(min_length=1, max_length=50)


class ExchangeOut(BookingOut):
    exchange_of: str = Field(description="The paid booking it replaces once confirmed")
    difference: str = Field(
        description="What it costs more (to pay: `amount`) or, negative, less (refunded once "
        "it is confirmed), in `currency`"
    )


class PassOnIn(Schema):
    """Tickets of a paid booking to pass on, for nothing, and the address to send them to."""

    model_config = ConfigDict(extra="forbid")
    seats: list[Label] = Field(min_length=1, max_length=50)
    email: Annotated[Text, StringConstraints(min_length=1, max_length=254)]


class TransferOut(Schema):
    ref: str
    seats: list[str]
    email: str = Field(description="Whom they were passed on to")
    status: str = Field(
        description="sent (not claimed yet: may be taken back), claimed, or cancelled (taken back)"
    )
    created_at: datetime


class StaffBookingOut(BookingOut):
    user: str = Field(description="The buyer's email address")
    film: str = Field(description="The film's slug")
    starts_at: datetime


class BookingPage(Schema):
    items: list[StaffBookingOut]
    next: str | None = Field(description="Send as `cursor` for the next page; null at the end")


class EventOut(Schema):
    id: int
    kind: str
    occurred_at: datetime
    actor: str | None = Field(description="Who did it; null for the system")
    showtime: int | None
    booking: str = Field(description="The booking's ref, or empty")
    seats: list[str]
    detail: dict
    request_id: str


class EventPage(Schema):
    items: list[EventOut]
    next: str | None = Field(description="Send as `cursor` for older events; null at the end")


class RefundIn(Schema):
    reason: Annotated[Text, StringConstraints(min_length=1, max_length=500)] = Field(
        description="Why: kept with the refund and on the audit trail"
    )
    seats: list[Label] | None = Field(None, max_length=50, description="All when left out")
    amount: Money | None = Field(None, description="Less than was paid, if so, e.g. 5.00")


class RefundOut(Schema):
    booking: BookingOut
    refunded: str
    status: str = Field(description="requested (the provider is asked) or succeeded")


class LiveHoldOut(Schema):
    seats: list[str]
    expires_at: datetime | None
    booking: str | None = Field(description="Its booking's ref, if it has one")
    user: str | None


class ScanIn(Schema):
    code: Annotated[Text, StringConstraints(min_length=1, max_length=500)]
    device: Annotated[Text, StringConstraints(max_length=100)] = ""
    door: Annotated[Text, StringConstraints(max_length=100)] = ""


class ScanOut(Schema):
    status: str = Field(description="admit, already, wrong_showtime, void or invalid")
    admitted: bool
    message: str
    seat: str
    ticket_id: int | None
    checked_in: int
    sold: int


class RoomOut(Schema):
    showtime: int
    on: bool
    paused: bool
    max_active: int
    admit_per_minute: int
    capacity: int
    sold: int
    left: int
    sold_per_minute: float
    minutes_to_sell_out: float | None
    queued: int | None = Field(description="null while Redis does not answer")
    active: int | None
    admitted_per_minute: float | None


class HealthOut(Schema):
    status: str
    database: str
    redis: str
    workers: dict[str, str]
    overload: dict[str, int]
