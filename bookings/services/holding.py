"""Holding seats: validating a selection, the account's limits, the Lua hold and its booking,
best available, and extending a hold."""

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis import RedisError

from accounts.services import ask_to_verify
from audit.services import Kind
from bookings import checkout
from bookings.errors import (
    BookingClosed,
    HoldLimitReached,
    HoldLost,
    InvalidRequest,
    SeatsUnavailable,
    VerificationRequired,
    WaitingRoomRequired,
)
from bookings.models import Booking
from bookings.ratelimit import check_rate
from bookings.selectors import lock_account
from bookings.services import seat_changes
from bookings.services.records import audit_booking
from bookings.services.rules import (
    check_no_lone_seat,
    check_on_sale,
    check_wheelchair_places,
    extend_in_redis,
    highest_fence,
    hold_owner,
    is_offer,
    seats_beside,
)
from bookings.services.selling import paid_for
from cinema.access import companions
from cinema.models import Seat, Showtime
from cinema.plans import Plan, get_plan
from cinema.pricing import PricingError, showtime_card
from seats import holds
from seats.best import NEVER_OFFERED, ranked_blocks, wheelchair_places
from seats.seatmap import SeatStates, read_seat_states
from waitingroom import services as waiting_room


def _validate_labels(*, plan: Plan, labels: list[str]) -> list[str]:
    def message(found: list[str], *, one: str, many: str) -> str:
        # Labels come straight from the request: echo a few, each cut to a label's length.
        shown = [label if len(label) <= 8 else f"{label[:8]}…" for label in found[:5]]
        more = f", … and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
        return (one if len(found) == 1 else many).format(", ".join(shown) + more)

    if not labels:
        raise InvalidRequest("Pick at least one seat.")
    labels = [label.strip().upper() for label in labels]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise InvalidRequest(
            message(
                duplicates,
                one="Seat {} is listed more than once.",
                many="Seats {} are listed more than once.",
            )
        )
    if len(labels) > settings.MAX_SEATS_PER_BOOKING:
        raise InvalidRequest(
            f"You can book at most {settings.MAX_SEATS_PER_BOOKING} seats at once."
        )
    unknown = [label for label in labels if label not in plan.seats_by_label]
    if unknown:
        raise InvalidRequest(
            message(
                unknown,
                one="There is no seat {} in this auditorium.",
                many="There are no seats {} in this auditorium.",
            )
        )
    blocked = [label for label in labels if plan.seats_by_label[label].blocked]
    if blocked:
        raise InvalidRequest(
            message(blocked, one="Seat {} is not for sale.", many="Seats {} are not for sale.")
        )
    return labels


def _check_account_limits(
    *, pending: list[Booking], showtime: Showtime, labels: list[str]
) -> Booking | None:
    """Refuse a hold past the account's limits across showtimes (`pending`: its open bookings,
    read under the account's lock); returns the open booking for `showtime`, which the new
    selection replaces."""
    now = timezone.now()
    existing, others = None, []
    for booking in pending:
        if booking.showtime_id == showtime.pk:
            existing = booking
        elif booking.expires_at is None or booking.expires_at > now:
            others.append(booking)
    if len(others) >= settings.MAX_OPEN_BOOKINGS_PER_ACCOUNT:
        raise HoldLimitReached(
            f"You have seats held for {len(others)} other showtimes. Pay for or release those "
            "before holding more."
        )
    held = sum(len(booking.seat_labels) for booking in others)
    if held + len(labels) > settings.MAX_SEATS_HELD_PER_ACCOUNT:
        raise HoldLimitReached(
            f"One account can hold at most {settings.MAX_SEATS_HELD_PER_ACCOUNT} seats at once, "
            f"and you hold {held} for other showtimes. Pay for or release those first."
        )
    return existing


def _check_free(*, labels: list[str], states: SeatStates, user) -> None:
    """Refuse at once seats that were sold or that someone else holds, as the states read for
    this request show them; the hold script has the final word on holds."""
    sold = [label for label in labels if label in states.booked]
    if sold:
        raise SeatsUnavailable("Some of those seats were just sold.", conflicts=sold)
    mine = states.mine(user.pk)
    taken = [label for label in labels if label in states.held and label not in mine]
    if taken:
        raise SeatsUnavailable("Someone else is holding some of those seats.", conflicts=taken)


def hold_seats(
    *,
    user,
    showtime: Showtime,
    labels: list[str] | None = None,
    best: int | None = None,
    states: SeatStates | None = None,
    admission: str = "",
    wheelchair: bool = False,
    exchanging: Booking | None = None,
) -> Booking:
    """Hold the seats (or the `best` n) for the user as one PENDING booking, or hold nothing.

    A user's open booking for the showtime is replaced by the new selection atomically: if the
    new seats cannot all be held, the old hold stays as it was. With the showtime's waiting room
    on, `admission` (the token the room gave the user) must let them in. An address not yet
    confirmed is sent the link (which brings them back to these seats). `wheelchair`: the buyer
    says they need a wheelchair space (rules.check_wheelchair_places). `exchanging`: the paid
    booking these seats are to replace (exchanging.start_exchange checked it); each new seat
    takes its ticket type, in order, and the booking is priced at the difference to pay.
    `states` are the showtime's seat states as this request read them (read here if not given,
    or if they lack what is needed: every seat's for `best`, else those of `labels`).
    """
    check_rate(user=user, action="hold")
    if best is not None and labels:
        raise InvalidRequest("Choose seats or ask for the best available, not both.")
    check_on_sale(showtime)
    try:
        _check_let_in(showtime=showtime, user=user, admission=admission)
    except WaitingRoomRequired:
        # Seats offered from the waiting list were picked for the customer, who waited their
        # turn on it: keeping some of them is not shopping.
        if not _within_offer(user=user, showtime=showtime, labels=labels):
            raise
    plan = get_plan(showtime.auditorium)
    choice = None
    if best is not None:
        if states is None or states.only is not None:
            states = read_seat_states(showtime=showtime, plan=plan, booked=states and states.booked)
        choice = _best_seats(
            showtime=showtime, plan=plan, states=states, count=best, wheelchair=wheelchair
        )
        labels = choice.labels
    labels = _validate_labels(plan=plan, labels=labels or [])
    check_wheelchair_places(showtime=showtime, plan=plan, labels=labels, wheelchair=wheelchair)
    beside = seats_beside(plan=plan, labels=labels)
    if states is None or not states.covers(beside):
        booked = states and states.booked
        states = read_seat_states(showtime=showtime, plan=plan, booked=booked, only=beside)
    token, added = "", []
    try:
        _check_free(labels=labels, states=states, user=user)
        check_no_lone_seat(
            plan=plan,
            labels=labels,
            taken=states.booked | (set(states.held) - states.mine(user.pk)),
        )
        with transaction.atomic():
            account = lock_account(user=user)
            if settings.HOLD_REQUIRES_VERIFIED_EMAIL and not account.verified:
                raise VerificationRequired(
                    "Confirm your email address before holding seats: open the link we sent you."
                )
            existing = _check_account_limits(
                pending=account.pending, showtime=showtime, labels=labels
            )
            booking = existing or Booking(user=user)
            booking.showtime = showtime  # as read here, with its film and price list
            booking.exchange_of = exchanging
            if exchanging is not None:
                booking.lines = exchange_lines(replaced=exchanging, labels=labels)
            # Priced before anything is held: a selection that cannot be sold holds nothing.
            try:
                priced = checkout.price_selection(
                    booking=booking, labels=labels, voucher=booking.voucher
                )
            except PricingError as error:
                raise BookingClosed(str(error)) from None
            token = existing.hold_token if existing else holds.new_token(user.pk)
            previous = set(existing.seat_labels) if existing else set()

            def hold(blocks: list[holds.Block]) -> holds.HoldResult:
                # Every seat any block may take decides the period: a block reaching past the
                # seats offered from the waiting list is held a hold period, not the offer's.
                every = [label for block in blocks for label in block.labels]
                return holds.hold_first(
                    showtime_id=showtime.pk,
                    blocks=blocks,
                    token=token,
                    **_hold_period(existing=existing, user=user, labels=every),
                    fence_floor=lambda: highest_fence(showtime=showtime),
                )

            if choice is None:
                result = hold([holds.Block(labels)])
            else:
                result = _hold_best(
                    hold=hold,
                    choice=choice,
                    showtime=showtime,
                    plan=plan,
                    states=states,
                    wheelchair=wheelchair,
                )
            if result.retry_after is not None and existing and is_offer(existing):
                # Before the sweeper has lapsed it: the offer's deadline is its claim window's.
                raise HoldLost(
                    "The time to claim the seats offered to you has run out: they go to the "
                    "next in line."
                )
            if result.retry_after is not None:
                minutes = max(1, math.ceil(result.retry_after / 60))
                raise BookingClosed(
                    "You have held seats for this showtime for as long as one account may. "
                    f"Give others a turn: you can pick seats again in {minutes} "
                    f"minute{'s' if minutes > 1 else ''}."
                )
            if not result.ok:
                # Sold since this request read the states (a sold seat keeps a mark that
                # conflicts, see holds.sell), or held by someone else since.
                raise SeatsUnavailable(
                    "Someone else is holding some of those seats."
                    if choice is None
                    else "Others took those seats at the same moment. Please ask again.",
                    conflicts=result.conflicts,
                )
            if result.labels != labels:
                # Best available held a block further down its ranking: priced as it is.
                labels = result.labels
                try:
                    priced = checkout.price_selection(
                        booking=booking, labels=labels, voucher=booking.voucher
                    )
                except PricingError as error:
                    seat_changes.hold_undone(
                        showtime=showtime, labels=sorted(set(labels) - previous), token=token
                    )
                    raise BookingClosed(str(error)) from None
            added = [label for label in labels if label not in previous]
            booking.hold_token = token
            booking.seat_labels = labels
            checkout.keep_quote(booking, priced)
            if exchanging is not None:
                booking.amount = max(booking.amount - paid_for(exchanging), Decimal("0"))
            booking.fence = result.fence
            booking.expires_at = result.expires_at
            if existing:
                booking.save(
                    update_fields=[
                        *("seat_labels", "lines", "amount", "discount", "exchange_of"),
                        *("fence", "expires_at", "updated_at"),
                    ]
                )
            else:
                booking.save()
            dropped = sorted(previous - set(labels))
            seat_changes.seats_held(
                booking=booking,
                dropped=dropped,
                booked=states.booked,
                actor=user,
                fence=result.fence,
                expires_at=result.expires_at.isoformat(),
                **({"best": best} if best is not None else {}),
                **({"wheelchair": True} if wheelchair else {}),
                **({"replaced": dropped} if dropped else {}),
                **({"exchange_of": exchanging.ref} if exchanging is not None else {}),
            )
    except SeatsUnavailable as error:
        if choice is None:
            error.offer = _nearest_block(
                showtime=showtime, plan=plan, states=states, user=user, error=error, labels=labels
            )
        raise
    except VerificationRequired:
        email = ask_to_verify(user=user, return_to=showtime.selection_url(labels))
        raise VerificationRequired(
            f"Confirm your email address before holding seats. We have sent a link to {email}: "
            "open it and you will come back to these seats."
        ) from None
    except IntegrityError:
        # A second request of the same user won the race for the one open booking.
        seat_changes.hold_undone(showtime=showtime, labels=added, token=token)
        raise SeatsUnavailable(
            "You already have seats held for this showtime.", conflicts=[]
        ) from None
    return booking


def _hold_period(*, existing: Booking | None, user, labels: list[str]) -> dict:
    """How long a new selection is held, and against whose deadline. A selection replacing seats
    offered from the waiting list stays within the offer's claim window (its token's deadline),
    so the offer never outlives it nor uses up the account's own: seats kept from the offer stay
    held to its end, other seats for a hold period."""
    if existing is None or not is_offer(existing):
        return {
            "ttl_seconds": settings.HOLD_TTL_SECONDS,
            "owner": hold_owner(user.pk),
            "max_extensions": settings.HOLD_MAX_EXTENSIONS,
        }
    kept = set(labels) <= set(existing.seat_labels)
    return {
        "ttl_seconds": settings.WAITLIST_CLAIM_MINUTES * 60 if kept else settings.HOLD_TTL_SECONDS,
        "owner": existing.hold_token,
        "max_extensions": 0,
    }


def _within_offer(*, user, showtime: Showtime, labels: list[str] | None) -> bool:
    """Whether `labels` are all seats the waiting list offers the user now."""
    offer = Booking.objects.filter(
        user=user, showtime=showtime, status=Booking.Status.PENDING
    ).first()
    if not labels or offer is None or not is_offer(offer):
        return False
    return {str(label).strip().upper() for label in labels} <= set(offer.seat_labels)


def exchange_lines(*, replaced: Booking, labels: list[str]) -> list[dict]:
    """The replaced booking's quote moved onto `labels`, seat for seat in order: what keeps
    each ticket's type when the booking is exchanged (repriced on the new showtime)."""
    kept = [line for line in replaced.lines if line["seat"] in replaced.seat_labels]
    return [{**line, "seat": label} for line, label in zip(kept, labels, strict=True)]


def _check_let_in(*, showtime: Showtime, user, admission: str) -> None:
    """With the waiting room on, only shoppers it has let in may hold seats."""
    try:
        let_in = waiting_room.admitted(showtime=showtime, user=user, token=admission)
    except RedisError:
        raise WaitingRoomRequired(
            "The waiting room cannot let anyone in right now: your place in the queue is kept."
        ) from None
    if not let_in:
        raise WaitingRoomRequired(
            "Seats for this showtime are sold through a waiting room, to be fair to everyone: "
            "join the queue and you will be let in to choose seats when it is your turn."
        )


@dataclass(frozen=True)
class BestSeats:
    """A best-available answer: the seats, their category and what each costs, and the blocks
    to fall back on, in order, when others take the seats first."""

    blocks: list[holds.Block]
    category: str
    price: Decimal | None  # each, as the default ticket type; None when the list has none
    # True when no standard seats were together and these are the next category that fits.
    instead_of_standard: bool

    @property
    def labels(self) -> list[str]:
        return self.blocks[0].labels

    @property
    def category_name(self) -> str:
        return Seat.Kind(self.category).label


def suggest_best_seats(
    *, showtime: Showtime, count: int, states: SeatStates, wheelchair: bool = False
) -> BestSeats:
    """The `count` best seats free right now, to show before anything is held."""
    check_on_sale(showtime)
    plan = get_plan(showtime.auditorium)
    return _best_seats(
        showtime=showtime, plan=plan, states=states, count=count, wheelchair=wheelchair
    )


def _nearest_block(
    *,
    showtime: Showtime,
    plan: Plan,
    states: SeatStates,
    user,
    error: SeatsUnavailable,
    labels: list[str],
) -> BestSeats | None:
    """What to offer a buyer whose picked seats were taken: as many seats side by side, of
    the same category, free now and nearest the middle of what they picked (not held)."""
    kinds = {plan.seats_by_label[label].kind for label in labels}
    if len(kinds) != 1 or not error.conflicts:
        return None
    if states.only is not None:
        states = read_seat_states(showtime=showtime, plan=plan, booked=states.booked)
    taken = states.booked | (set(states.held) - states.mine(user.pk)) | set(error.conflicts)
    rows = {row.label: y for y, row in enumerate(plan.rows) if row is not None}
    picked = [plan.seats_by_label[label] for label in labels]
    near = (
        sum(rows[seat.row] for seat in picked) / len(picked),
        sum(seat.x for seat in picked) / len(picked),
    )
    (kind,) = kinds
    blocks = ranked_blocks(plan=plan, taken=taken, count=len(labels), kind=kind, limit=1, near=near)
    if not blocks:
        return None
    card = showtime_card(showtime)
    offer = card.default_for(showtime.movie.age_rating)
    price = None if offer is None else offer.price + card.supplement(kind)
    return BestSeats(blocks=blocks, category=kind, price=price, instead_of_standard=False)


def _hold_best(
    *,
    hold,
    choice: BestSeats,
    showtime: Showtime,
    plan: Plan,
    states: SeatStates,
    wheelchair: bool,
) -> holds.HoldResult:
    """Hold the first free block of the ranking; if others took every one of them since the
    states were read, rank again on the holds as they are now, once."""
    result = hold(choice.blocks)
    if result.ok or result.retry_after is not None:
        return result
    now = read_seat_states(showtime=showtime, plan=plan, booked=states.booked)
    count = len(choice.labels)
    again = _best_seats(
        showtime=showtime, plan=plan, states=now, count=count, wheelchair=wheelchair
    )
    return hold(again.blocks)


def _best_seats(
    *, showtime: Showtime, plan: Plan, states: SeatStates, count: int, wheelchair: bool
) -> BestSeats:
    """Standard seats when a block fits; else the cheapest other category offered to anyone
    (never wheelchair spaces or companion seats) in which one does. For a buyer who needs a
    wheelchair space: a space, or a space with its companion seat. Ranked blocks of that
    category follow the best, up to holds.MAX_BLOCKS."""
    if not 1 <= count <= settings.MAX_SEATS_PER_BOOKING:
        raise InvalidRequest(f"Best available takes 1 to {settings.MAX_SEATS_PER_BOOKING} seats.")
    card = showtime_card(showtime)
    offer = card.default_for(showtime.movie.age_rating)
    taken = states.booked | set(states.held)
    if wheelchair:
        blocks = _best_wheelchair_places(plan=plan, taken=taken, count=count)
        kind = plan.seats_by_label[blocks[0].labels[0]].kind
        price = None if offer is None else offer.price + card.supplement(kind)
        return BestSeats(blocks=blocks, category=kind, price=price, instead_of_standard=False)
    others = sorted(
        plan.kinds - NEVER_OFFERED - {Seat.Kind.STANDARD},
        key=lambda kind: (card.supplement(kind), list(Seat.Kind).index(kind)),
    )
    for kind in [Seat.Kind.STANDARD, *others]:
        blocks = ranked_blocks(
            plan=plan, taken=taken, count=count, kind=kind, limit=holds.MAX_BLOCKS
        )
        if blocks:
            return BestSeats(
                blocks=blocks,
                category=kind,
                price=None if offer is None else offer.price + card.supplement(kind),
                instead_of_standard=kind != Seat.Kind.STANDARD and Seat.Kind.STANDARD in plan.kinds,
            )
    if not any(
        label not in taken and not seat.blocked and seat.kind not in NEVER_OFFERED
        for label, seat in plan.seats_by_label.items()
    ):
        raise SeatsUnavailable("Sold out: every seat is sold or held.", conflicts=[])
    raise SeatsUnavailable(f"There are no {count} seats together left.", conflicts=[])


def _best_wheelchair_places(*, plan: Plan, taken: set[str], count: int) -> list[holds.Block]:
    if count > 2:
        raise InvalidRequest(
            "For a wheelchair user, best available finds a wheelchair space (1) or a space and "
            "its companion seat (2): pick any further seats on the map."
        )
    blocks = wheelchair_places(
        plan=plan, taken=taken, companions=companions(plan), count=count, limit=holds.MAX_BLOCKS
    )
    if not blocks:
        wanted = "wheelchair space" if count == 1 else "wheelchair space with its companion seat"
        raise SeatsUnavailable(f"There is no {wanted} free.", conflicts=[])
    return blocks


def extend_hold(*, booking: Booking) -> Booking:
    """Give a PENDING booking another hold period, while every seat is still its own, sales are
    open, and never past the owner's deadline."""
    if booking.status != Booking.Status.PENDING:
        raise BookingClosed("Only a booking waiting for payment can be extended.")
    check_on_sale(booking.showtime)
    result = extend_in_redis(booking)
    if result.status == holds.ExtendStatus.CAP_REACHED:
        raise BookingClosed(
            "This hold has been extended as far as it can go; pay now or start again."
        )
    if result.status != holds.ExtendStatus.OK:
        raise HoldLost("Your hold on these seats has run out. Pick your seats again.")
    with transaction.atomic():
        Booking.objects.filter(pk=booking.pk, status=Booking.Status.PENDING).update(
            expires_at=result.expires_at, updated_at=timezone.now()
        )
        booking.refresh_from_db()
        audit_booking(
            Kind.HOLD_EXTENDED,
            booking,
            actor=booking.user,
            expires_at=result.expires_at.isoformat(),
        )
    return booking
