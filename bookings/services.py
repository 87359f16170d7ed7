"""The booking lifecycle: hold, extend, pay (through the gateway), refund, cancel, expire.

PENDING (seats held in Redis) -> CONFIRMED (paid) | CANCELLED (user or staff) | EXPIRED (timeout).
Redis decides who may pay; the UNIQUE (showtime, seat) constraint on Ticket decides, finally,
who gets a seat. Every function here leaves either the whole change or nothing, and records its
audit event in the same transaction as the change.
"""

import logging
import math
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from audit.services import Kind, record, record_error
from bookings import checkout
from bookings.errors import (
    BookingClosed,
    HoldLimitReached,
    HoldLost,
    InvalidRequest,
    PaymentFailed,
    PriceChanged,
    SalesEnded,
    SeatsUnavailable,
    UnknownPayment,
    VerificationRequired,
)
from bookings.models import (
    Booking,
    Payment,
    Refund,
    Ticket,
    VoidTicket,
    WebhookEvent,
    new_ticket_secret,
)
from bookings.ratelimit import check_rate
from bookings.selectors import lock_account
from cinema.models import Showtime
from cinema.money import format_money
from cinema.pricing import PricingError, Quote
from payments.gateway import Event, EventType, GatewayError, Session, SessionStatus, get_gateway
from payments.gateway import Refund as GatewayRefund
from seats import holds
from seats.best import best_available
from seats.broadcast import seats_changed
from seats.seatmap import Plan, SeatStates, get_plan, read_seat_states
from waitingroom import services as waiting_room

log = logging.getLogger(__name__)


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


def _sales_ended(showtime: Showtime) -> str | None:
    """Why the showtime sells nothing more, "sales stopped" or "showtime started", or None."""
    if not showtime.on_sale:
        return "sales stopped"
    if showtime.starts_at <= timezone.now():
        return "showtime started"
    return None


# What each reason of `_sales_ended` tells someone picking seats, and someone paying.
_NOT_ON_SALE = {
    "sales stopped": "Tickets for this showtime are not on sale.",
    "showtime started": "This showtime has already started.",
}
_NOT_PAYABLE = {
    "sales stopped": "Sales for this showtime have been stopped, so your seats are released. "
    "Nothing was charged.",
    "showtime started": "This showtime has already started, so your seats are released. "
    "Nothing was charged.",
}


def _check_on_sale(showtime: Showtime) -> None:
    """Holding and extending need the showtime on sale (and its on-sale time come) and not
    started."""
    if reason := _sales_ended(showtime):
        raise BookingClosed(_NOT_ON_SALE[reason])
    if showtime.sale_opens_later:
        opens = timezone.localtime(showtime.on_sale_at)
        raise BookingClosed(f"Tickets go on sale on {opens:%a %-d %b at %H:%M}.")


def _check_sales_open(showtime: Showtime) -> None:
    """Paying needs the same; a booking that can no longer be paid ends, its seats released."""
    if reason := _sales_ended(showtime):
        raise SalesEnded(_NOT_PAYABLE[reason], reason=reason)


def _hold_owner(user_id: int) -> str:
    """Whose deadline a hold counts against in Redis: the account."""
    return f"user:{user_id}"


def _extend_in_redis(booking: Booking) -> holds.ExtendResult:
    return holds.extend(
        showtime_id=booking.showtime_id,
        labels=booking.seat_labels,
        token=booking.hold_token,
        ttl_seconds=settings.HOLD_TTL_SECONDS,
        max_extensions=settings.HOLD_MAX_EXTENSIONS,
        owner=_hold_owner(booking.user_id),
    )


def _highest_fence(*, showtime: Showtime) -> int:
    return Booking.objects.filter(showtime=showtime).aggregate(top=Max("fence"))["top"] or 0


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
) -> Booking:
    """Hold the seats (or the `best` n) for the user as one PENDING booking, or hold nothing.

    A user's open booking for the showtime is replaced by the new selection atomically: if the
    new seats cannot all be held, the old hold stays as it was. `states` are the showtime's seat
    states as this request read them (read here if not given, or if they lack what is needed:
    every seat's for `best`, else those of `labels`).
    """
    check_rate(user=user, action="hold")
    _check_on_sale(showtime)
    plan = get_plan(showtime.auditorium)
    if best is not None:
        if states is None or states.only is not None:
            states = read_seat_states(showtime=showtime, plan=plan, booked=states and states.booked)
        labels = _best_seats(plan=plan, states=states, count=best)
    labels = _validate_labels(plan=plan, labels=labels or [])
    if states is None or not states.covers(labels):
        booked = states and states.booked
        states = read_seat_states(showtime=showtime, plan=plan, booked=booked, only=labels)
    _check_free(labels=labels, states=states, user=user)

    token, added = "", []
    try:
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
            # Priced before anything is held: a selection that cannot be sold holds nothing.
            try:
                priced = checkout.price_selection(
                    booking=booking, labels=labels, voucher=booking.voucher
                )
            except PricingError as error:
                raise BookingClosed(str(error)) from None
            token = existing.hold_token if existing else holds.new_token(user.pk)
            previous = set(existing.seat_labels) if existing else set()
            result = holds.hold(
                showtime_id=showtime.pk,
                labels=labels,
                token=token,
                ttl_seconds=settings.HOLD_TTL_SECONDS,
                owner=_hold_owner(user.pk),
                max_extensions=settings.HOLD_MAX_EXTENSIONS,
                fence_floor=lambda: _highest_fence(showtime=showtime),
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
                    "Someone else is holding some of those seats.", conflicts=result.conflicts
                )
            added = [label for label in labels if label not in previous]
            booking.hold_token = token
            booking.seat_labels = labels
            checkout.keep_quote(booking, priced)
            booking.fence = result.fence
            booking.expires_at = result.expires_at
            if existing:
                booking.save(
                    update_fields=[
                        *("seat_labels", "lines", "amount", "discount"),
                        *("fence", "expires_at", "updated_at"),
                    ]
                )
            else:
                booking.save()
            dropped = sorted(previous - set(labels))

            def after_commit():
                holds.release(showtime_id=showtime.pk, labels=dropped, token=token)
                seats_changed(
                    showtime=showtime,
                    labels=[*labels, *dropped],
                    holder_id=user.pk,
                    booked=states.booked,
                )

            # Before the event (viewers first: see above _release_on_commit).
            transaction.on_commit(after_commit, robust=True)
            _audit(
                Kind.HOLD_PLACED,
                booking,
                actor=user,
                fence=result.fence,
                expires_at=result.expires_at.isoformat(),
                **({"best": best} if best is not None else {}),
                **({"replaced": dropped} if dropped else {}),
            )
    except IntegrityError:
        # A second request of the same user won the race for the one open booking.
        holds.release(showtime_id=showtime.pk, labels=added, token=token)
        raise SeatsUnavailable(
            "You already have seats held for this showtime.", conflicts=[]
        ) from None
    return booking


def suggest_best_seats(*, showtime: Showtime, count: int, states: SeatStates) -> list[str]:
    """The `count` best seats free right now, to show before anything is held."""
    _check_on_sale(showtime)
    return _best_seats(plan=get_plan(showtime.auditorium), states=states, count=count)


def _best_seats(*, plan: Plan, states: SeatStates, count: int) -> list[str]:
    if not 1 <= count <= settings.MAX_SEATS_PER_BOOKING:
        raise InvalidRequest(f"Best available takes 1 to {settings.MAX_SEATS_PER_BOOKING} seats.")
    labels = best_available(plan=plan, taken=states.booked | set(states.held), count=count)
    if labels is None:
        raise SeatsUnavailable(f"There are no {count} seats together left.", conflicts=[])
    return labels


def extend_hold(*, booking: Booking) -> Booking:
    """Give a PENDING booking another hold period, while every seat is still its own, sales are
    open, and never past the owner's deadline."""
    if booking.status != Booking.Status.PENDING:
        raise BookingClosed("Only a booking waiting for payment can be extended.")
    _check_on_sale(booking.showtime)
    result = _extend_in_redis(booking)
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
        _audit(
            Kind.HOLD_EXTENDED,
            booking,
            actor=booking.user,
            expires_at=result.expires_at.isoformat(),
        )
    return booking


# How long the gateway's page takes a payment (real providers want at least 30 minutes). A payment
# that lands after the hold has run out is settled as a late payment.
PAYMENT_SESSION_LIFETIME = timedelta(minutes=30)


def start_payment(
    *, booking: Booking, return_url: str, cancel_url: str, expected: Decimal | None = None
) -> str:
    """Record a payment attempt and commit it, then open the gateway's page for it; returns where
    to send the buyer. Nothing is charged here: only the gateway's answer confirms the booking.

    `expected` is the total the buyer was shown: if the booking's is another (its tickets were
    changed in another window), nothing happens and they are told. A lost hold or ended sales
    end the booking instead, with nothing charged.
    """
    # A fresh hold period for the gateway's page, as far as the buyer's deadline allows. Best
    # effort: a payment that lands after the hold is settled as a late one. (Redis only: the
    # new expiry is written with the attempt, in its one transaction.)
    extended = _extend_in_redis(booking)
    try:
        with transaction.atomic():
            booking = _locked(booking)
            if booking.status != Booking.Status.PENDING:
                raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
            if expected is not None and expected != booking.amount:
                raise PriceChanged(
                    f"Your total is now {format_money(booking.amount)}, not "
                    f"{format_money(expected)}: your tickets were changed in another window. "
                    "Check them and pay again. Nothing was charged."
                )
            _check_sales_open(booking.showtime)
            holding = extended.status == holds.ExtendStatus.OK or _holds_its_seats(booking)
            if not holding:
                raise HoldLost(
                    "Your hold on these seats ran out before payment. Nothing was charged."
                )
            payment = Payment.objects.create(
                booking=booking, amount=booking.amount, currency=settings.CURRENCY
            )
            _audit(
                Kind.PAYMENT_STARTED,
                booking,
                actor=booking.user,
                payment=payment.pk,
                amount=str(payment.amount),
            )
            if extended.status == holds.ExtendStatus.OK:
                booking.expires_at = extended.expires_at
                booking.save(update_fields=["expires_at", "updated_at"])
                _audit(
                    Kind.HOLD_EXTENDED,
                    booking,
                    actor=booking.user,
                    expires_at=extended.expires_at.isoformat(),
                )
    except SalesEnded as ended:
        _end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.SEATS_RELEASED,
            reason=ended.reason,
        )
        raise
    except HoldLost:
        _end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.HOLD_EXPIRED,
            reason="hold lost before payment",
        )
        raise
    try:
        session = get_gateway().create_session(
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            client_reference=payment.idempotency_key,
            return_url=return_url,
            cancel_url=cancel_url,
            expires_at=timezone.now() + PAYMENT_SESSION_LIFETIME,
        )
    except GatewayError as error:
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.CREATED).update(
                status=Payment.Status.FAILED, updated_at=timezone.now()
            )
            _audit(
                Kind.PAYMENT_FAILED,
                booking,
                payment=payment.pk,
                reason="gateway unavailable",
                error=str(error)[:200],
            )
        raise PaymentFailed(
            "The payment provider could not be reached, so nothing was charged. "
            "Try again in a moment."
        ) from None
    Payment.objects.filter(pk=payment.pk, status=Payment.Status.CREATED).update(
        session_id=session.id, status=Payment.Status.OPEN, updated_at=timezone.now()
    )
    return session.url


class _Duplicate(Exception):
    """The event was acted on before (its row exists): nothing more to do."""


class _SeatsTaken(Exception):
    """The tickets' UNIQUE constraint refused a seat: the transaction is spoilt, so settle
    again in a fresh one, as a payment whose seats are gone."""


def handle_payment_event(*, event: Event) -> str:
    """Act on a verified gateway event once: a second delivery of the same event changes nothing.
    Returns what happened, in a word or two, for the gateway's log and ours."""
    payment = _payment_for(event.session)
    try:
        outcome, refund = _settling(
            lambda seats_free: _act_on(event=event, payment=payment, seats_free=seats_free)
        )
    except _Duplicate:
        return "duplicate"
    if refund is not None:
        send_refund(refund=refund)
    return outcome


def _settling(act) -> tuple[str, "Refund | None"]:
    """Run `act(seats_free)` in one transaction; if a seat turned out to be sold, run it again
    in a new one knowing so (a savepoint on every sale would cost two more statements)."""
    try:
        with transaction.atomic():
            return act(True)
    except _SeatsTaken:
        with transaction.atomic():
            return act(False)


def _act_on(*, event: Event, payment: Payment, seats_free: bool) -> tuple[str, "Refund | None"]:
    try:
        WebhookEvent.objects.create(event_id=event.id, type=event.type)
    except IntegrityError:
        raise _Duplicate from None
    if event.type == EventType.PAYMENT_SUCCEEDED:
        return _settle_paid(payment=payment, session=event.session, seats_free=seats_free)
    if event.type == EventType.PAYMENT_FAILED:
        return _note_failed_attempt(payment=payment, reason=event.reason), None
    if event.type == EventType.SESSION_EXPIRED:
        return _close_unpaid(payment=payment), None
    return _note_refund_done(refund=event.refund), None


def sync_payment(*, payment: Payment) -> str:
    """Bring an unsettled payment in line with what the gateway says about it now: the status
    query that stands in for a webhook that never came. Returns what happened."""
    if payment.session_id is None:
        return "no session"
    try:
        session = get_gateway().retrieve_session(session_id=payment.session_id)
    except GatewayError as error:
        log.warning("payment %s: the gateway did not answer: %s", payment.pk, error)
        return "gateway unavailable"
    if session.status == SessionStatus.PAID:
        outcome, refund = _settling(
            lambda seats_free: _settle_paid(payment=payment, session=session, seats_free=seats_free)
        )
    elif session.status == SessionStatus.EXPIRED:
        with transaction.atomic():
            outcome, refund = _close_unpaid(payment=payment), None
    else:
        outcome, refund = "still open", None
    if refund is not None:
        send_refund(refund=refund)
    return outcome


def gateway_says_paid(*, payment: Payment) -> bool:
    """Whether the gateway has taken the money for this payment (a read: it settles nothing)."""
    try:
        session = get_gateway().retrieve_session(session_id=payment.session_id)
    except GatewayError:
        return False
    return session.status == SessionStatus.PAID


def reject_webhook(*, problem: str, address: str) -> None:
    """Audit a webhook that was refused (a forgery, a replay, or one for no payment of ours)."""
    with transaction.atomic():
        record(Kind.WEBHOOK_REJECTED, detail={"problem": problem[:200], "address": address})


def close_unreached(*, payment: Payment) -> str:
    """Close an attempt that never reached the gateway (the process stopped before asking)."""
    with transaction.atomic():
        return _close_unpaid(payment=payment)


def _payment_for(session: Session) -> Payment:
    """Our payment for a gateway session: by its id, or by the reference we gave the gateway
    (a crash may have kept us from storing the id)."""
    payment = (
        Payment.objects.filter(session_id=session.id).first()
        or Payment.objects.filter(idempotency_key=session.client_reference).first()
    )
    if payment is None:
        raise UnknownPayment(f"No payment here matches the gateway's session {session.id[:40]}.")
    return payment


def _settle_paid(
    *, payment: Payment, session: Session, seats_free: bool = True
) -> tuple[str, "Refund | None"]:
    """The gateway took the money: confirm the booking (re-holding its seats if its hold ran
    out), or, when that cannot be, owe the money back. Settles each payment once.
    `seats_free` False: an earlier try found a seat sold, so the money goes back."""
    booking = _locked(Booking(pk=payment.booking_id))
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.SUCCEEDED:
        return "already settled", None
    payment.status = Payment.Status.SUCCEEDED
    payment.charge = session.charge
    payment.session_id = payment.session_id or session.id
    payment.save(update_fields=["status", "charge", "session_id", "updated_at"])
    problem = _why_not_confirm(booking=booking, payment=payment, paid=session.amount)
    if problem is None:
        problem = _confirm(booking=booking, payment=payment) if seats_free else SEATS_TAKEN
        if problem is None:
            return "confirmed", None
    refund = Refund.objects.create(payment=payment, amount=session.amount, reason=problem)
    # Only a booking that cannot have its seats ends here; one paid twice, or changed since this
    # attempt began, stays as it is (the current attempt may still pay for it).
    if booking.status == Booking.Status.PENDING and problem not in (PAID_TWICE, BOOKING_CHANGED):
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        _release_on_commit(booking)
    _audit(
        Kind.PAYMENT_REFUNDED,
        booking,
        reason=problem,
        refunded=True,
        payment=payment.pk,
        **{**_booking_facts(booking), **_money_facts(session.amount)},
    )
    return "refunded", refund


# Why a payment that went through cannot buy its booking; each sends the money back.
PAID_TWICE = "paid twice"
BOOKING_CANCELLED = "booking cancelled"
BOOKING_CHANGED = "booking changed"
SEATS_TAKEN = "seats taken"


def _why_not_confirm(*, booking: Booking, payment: Payment, paid) -> str | None:
    if booking.status == Booking.Status.CONFIRMED:
        return PAID_TWICE
    if booking.status == Booking.Status.CANCELLED:
        return BOOKING_CANCELLED
    if paid != payment.amount or payment.amount != booking.amount:
        return BOOKING_CHANGED
    return _sales_ended(booking.showtime)


def _confirm(*, booking: Booking, payment: Payment) -> str | None:
    """Turn the booking's seats into tickets; None when done, else why not (nothing changed).
    A seat the tickets' UNIQUE constraint refuses raises _SeatsTaken (the transaction is spoilt).

    A booking whose hold ran out gets its seats back only if all of them are free: they are
    held again in one atomic step, and the tickets' UNIQUE constraint has the last word.
    """
    late = not _holds_its_seats(booking)
    if late:
        result = holds.hold(
            showtime_id=booking.showtime_id,
            labels=booking.seat_labels,
            token=booking.hold_token,
            ttl_seconds=settings.HOLD_TTL_SECONDS,
            owner=_late_owner(booking),
            max_extensions=0,
            fence_floor=lambda: _highest_fence(showtime=booking.showtime),
        )
        if not result.ok:
            return SEATS_TAKEN
        booking.fence = result.fence
    plan = get_plan(booking.showtime.auditorium)
    try:
        Ticket.objects.bulk_create(
            Ticket(
                booking=booking,
                showtime_id=booking.showtime_id,
                seat_id=plan.seats_by_label[line.seat].id,
                ticket_type_id=line.type_id,
                category=line.category,
                price=line.paid,
                discount=line.discount,
            )
            for line in Quote.from_data(booking.lines).lines
        )
    except IntegrityError:
        if late:
            holds.release(
                showtime_id=booking.showtime_id,
                labels=booking.seat_labels,
                token=booking.hold_token,
            )
        raise _SeatsTaken from None
    if booking.status != Booking.Status.PENDING:
        # Its voucher's use was given back when it expired; paid for, it counts again.
        checkout.take_voucher_again(booking)
    booking.status = Booking.Status.CONFIRMED
    booking.payment_ref = payment.charge
    booking.save(update_fields=["status", "payment_ref", "fence", "updated_at"])
    _sold_on_commit(booking)  # viewers first: see above _release_on_commit
    _audit(
        Kind.BOOKING_CONFIRMED,
        booking,
        actor=booking.user,
        payment_ref=payment.charge,
        **({"late": True} if late else {}),
        **_booking_facts(booking),
    )

    def after_commit():
        # Bought: the buyer may hold seats of this showtime again at once, and their slot in
        # the waiting room goes to the next in line.
        for owner in (_hold_owner(booking.user_id), _late_owner(booking)):
            holds.close_window(showtime_id=booking.showtime_id, owner=owner)
        waiting_room.finished(showtime=booking.showtime, user_id=booking.user_id)

    transaction.on_commit(after_commit, robust=True)
    return None


def _late_owner(booking: Booking) -> str:
    """Whose deadline a late payment's re-hold counts against: the booking's own, not the
    buyer's, which has usually run out by then."""
    return f"paid:{booking.ref}"


def _note_failed_attempt(*, payment: Payment, reason: str) -> str:
    """A card was refused on the gateway's page; the buyer may try again there."""
    if payment.status == Payment.Status.SUCCEEDED:
        return "stale"
    _audit(
        Kind.PAYMENT_FAILED,
        payment.booking,
        actor=payment.booking.user,
        payment=payment.pk,
        reason="declined",
        message=reason[:200],
    )
    return "failed attempt"


def _close_unpaid(*, payment: Payment) -> str:
    """The gateway's page closed without a payment; the booking's hold runs its own course."""
    closed = Payment.objects.filter(
        pk=payment.pk, status__in=[Payment.Status.CREATED, Payment.Status.OPEN]
    ).update(status=Payment.Status.FAILED, updated_at=timezone.now())
    if not closed:
        return "stale"
    _audit(Kind.PAYMENT_FAILED, payment.booking, payment=payment.pk, reason="page expired")
    return "closed"


def _note_refund_done(*, refund: GatewayRefund | None) -> str:
    if refund is None:
        return "ignored"
    done = Refund.objects.filter(reference=refund.id, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.SUCCEEDED, updated_at=timezone.now()
    )
    return "refund done" if done else "refund noted"


def send_refund(*, refund: Refund) -> Refund:
    """Ask the gateway to pay back a recorded refund; safe to repeat, as its key never changes.
    A refund the gateway cannot do now stays REQUESTED, and reconciliation tries again."""
    refund = Refund.objects.select_related("payment__booking").get(pk=refund.pk)
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    payment = refund.payment
    try:
        done = get_gateway().refund(
            session_id=payment.session_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            reason=refund.reason,
        )
    except GatewayError as error:
        log.warning("refund %s not sent yet: %s", refund.pk, error)
        record_error("send_refund", error, refund=refund.pk, booking_ref=payment.booking.ref)
        return refund
    with transaction.atomic():
        sent = Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(
            status=Refund.Status.SUCCEEDED, reference=done.id, updated_at=timezone.now()
        )
        if sent:
            _audit(
                Kind.REFUND_SENT,
                payment.booking,
                seats=refund.seats,
                refund=refund.pk,
                reference=done.id,
                amount=str(refund.amount),
            )
    refund.refresh_from_db()
    return refund


def refunds_close_at(showtime: Showtime) -> datetime:
    """Until when a customer may cancel a paid booking of the showtime for a full refund."""
    return showtime.starts_at - timedelta(hours=settings.REFUND_CUTOFF_HOURS)


def cancel_booking(*, booking: Booking) -> Refund | None:
    """The customer cancels: a PENDING hold is released; a CONFIRMED booking is refunded in full
    until REFUND_CUTOFF_HOURS before the show. Returns the refund when money goes back.

    Decided under the booking's lock: a payment landing at the same moment is either refunded
    with the booking, or finds the booking cancelled and is refunded by itself.
    """
    check_rate(user=booking.user, action="release")
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status == Booking.Status.PENDING:
            _end_booking(
                booking=booking,
                status=Booking.Status.CANCELLED,
                kind=Kind.SEATS_RELEASED,
                actor=booking.user,
                reason="cancelled",
            )
            return None
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingClosed(f"This booking is already {booking.get_status_display().lower()}.")
    if timezone.now() >= refunds_close_at(booking.showtime):
        raise BookingClosed(
            f"Bookings can be cancelled up to {settings.REFUND_CUTOFF_HOURS} hours before the "
            "show. Ask at the box office."
        )
    return refund_tickets(booking=booking, actor=booking.user, reason="cancelled by customer")


def staff_cancel(*, booking: Booking, actor, why: str = "") -> Booking:
    """Staff end a booking whatever its state: refund a CONFIRMED one, release a PENDING hold;
    `why` (the staff member's reason) goes on the audit event."""
    if booking.status == Booking.Status.CONFIRMED:
        refund = refund_tickets(booking=booking, actor=actor, why=why, reason="refunded by staff")
        return refund.payment.booking
    ended = _end_booking(
        booking=booking,
        status=Booking.Status.CANCELLED,
        kind=Kind.SEATS_RELEASED,
        actor=actor,
        reason="released by staff",
        why=why,
    )
    if ended.status != Booking.Status.CANCELLED:
        raise BookingClosed(f"This booking is already {ended.get_status_display().lower()}.")
    return ended


def staff_release_hold(*, showtime: Showtime, token: str, actor) -> list[str]:
    """Staff free one hold: its PENDING booking is cancelled; a hold with no booking is dropped."""
    booking = Booking.objects.filter(
        showtime=showtime, hold_token=token, status=Booking.Status.PENDING
    ).first()
    if booking is not None:
        return staff_cancel(booking=booking, actor=actor).seat_labels
    plan = get_plan(showtime.auditorium)
    held = holds.held_labels(showtime_id=showtime.pk, labels=list(plan.seats_by_label))
    labels = sorted(label for label, holder in held.items() if holder == token)
    if not labels:
        raise HoldLost("That hold has already ended.")
    with transaction.atomic():
        _release_after_commit(showtime=showtime, labels=labels, token=token)  # viewers first
        record(
            Kind.SEATS_RELEASED,
            actor=actor,
            showtime_id=showtime.pk,
            seats=labels,
            detail={"reason": "released by staff", "orphan": True},
        )
    return labels


def refund_tickets(
    *,
    booking: Booking,
    actor,
    reason: str,
    labels: list[str] | None = None,
    amount: Decimal | None = None,
    why: str = "",
) -> Refund:
    """Refund tickets of a CONFIRMED booking (all by default) for what was paid for them, or
    for `amount` when staff give back less; their seats are freed live. The refund is recorded
    with the change, and the gateway asked once it has committed."""
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status != Booking.Status.CONFIRMED:
            raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
        tickets = {ticket.seat.label: ticket for ticket in booking.tickets.select_related("seat")}
        labels = list(tickets) if labels is None else _refundable(booking, tickets, labels)
        payment = (
            Payment.objects.select_for_update()
            .filter(booking=booking, status=Payment.Status.SUCCEEDED, charge=booking.payment_ref)
            .first()
        )
        if payment is None:
            raise BookingClosed("This booking has no payment to refund; ask the payments team.")
        left = payment.amount - (payment.refunds.aggregate(total=Sum("amount"))["total"] or 0)
        due = sum((tickets[label].price for label in labels), Decimal("0"))
        amount = due if amount is None else amount
        if amount <= 0:
            raise InvalidRequest("A refund must be for more than nothing.")
        if amount > min(due, left):
            raise InvalidRequest(
                f"That is more than was paid: at most {format_money(min(due, left))} can be "
                f"refunded for {', '.join(labels)}."
            )
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            seats=labels,
            reason=reason,
            why=why,
            actor=actor,
        )
        _void(booking, [tickets[label] for label in labels], reason=VoidTicket.Reason.REFUNDED)
        Ticket.objects.filter(pk__in=[tickets[label].pk for label in labels]).delete()
        kept = [label for label in booking.seat_labels if label in tickets and label not in labels]
        if kept:
            booking.seat_labels = kept
        else:
            booking.status = Booking.Status.CANCELLED
            checkout.give_back_voucher(booking, reason=reason)
        booking.save(update_fields=["seat_labels", "status", "updated_at"])
        # Viewers first: see above _release_on_commit.
        _release_after_commit(showtime=booking.showtime, labels=labels, token=booking.hold_token)
        _audit(
            Kind.SEATS_RELEASED,
            booking,
            actor=actor,
            seats=labels,
            reason="refunded",
            refunded=True,
            refund=refund.pk,
            **({"partial": True} if kept else {}),
            **({"staff_reason": why} if why else {}),
            by_staff=actor is not None and actor.pk != booking.user_id,
            **{**_booking_facts(booking), **_money_facts(amount)},
        )
    return send_refund(refund=refund)


def _void(booking: Booking, tickets: list[Ticket], *, reason: str) -> None:
    """Keep the codes of tickets that stop admitting anyone, so the door can say why."""
    VoidTicket.objects.bulk_create(
        VoidTicket(
            ticket_id=ticket.pk,
            showtime_id=ticket.showtime_id,
            booking_ref=booking.ref,
            seat_label=ticket.seat.label,
            secret=ticket.secret,
            reason=reason,
        )
        for ticket in tickets
    )


def reissue_ticket(*, ticket: Ticket, actor) -> Ticket:
    """A new secret for the ticket (a screenshot of it leaked): its old QR code stops working,
    and the door calls it void, not forged."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update().select_related("booking", "seat").get(pk=ticket.pk)
        )
        _void(ticket.booking, [ticket], reason=VoidTicket.Reason.REISSUED)
        ticket.secret = new_ticket_secret()
        ticket.save(update_fields=["secret"])
        _audit(Kind.TICKET_REISSUED, ticket.booking, actor=actor, seats=[ticket.seat.label])
    return ticket


def _refundable(booking: Booking, tickets: dict[str, Ticket], labels: list[str]) -> list[str]:
    """The asked-for seats, each a ticket of the booking that has not been refunded yet."""
    labels = [label.strip().upper() for label in labels]
    if not labels:
        raise InvalidRequest("Choose at least one ticket to refund.")
    if len(set(labels)) != len(labels):
        raise InvalidRequest("A ticket is listed more than once.")
    refunded = {
        label
        for seats in Refund.objects.filter(payment__booking=booking).values_list("seats", flat=True)
        for label in seats
    }
    for label in labels:
        if label not in tickets and label in refunded:
            raise BookingClosed(f"The ticket for {label} has already been refunded.")
        if label not in tickets:
            raise InvalidRequest(f"{label[:8]} is not a seat of this booking.")
    return labels


def expire_booking(*, booking: Booking, now: datetime | None = None) -> Booking | None:
    """Expire a PENDING booking whose hold is gone or past its time; None if it is still live."""
    now = now or timezone.now()
    # A payment may have gone through with its webhook still on the way: ask the gateway before
    # giving the seats away.
    for payment in Payment.objects.filter(
        booking=booking, status=Payment.Status.OPEN, booking__expires_at__lte=now
    ):
        sync_payment(payment=payment)
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING:
            return None
        timed_out = booking.expires_at is None or booking.expires_at <= now
        if not timed_out and _holds_its_seats(booking):
            return None
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        _release_on_commit(booking)  # viewers first: see above _release_on_commit
        _audit(Kind.HOLD_EXPIRED, booking, reason="timeout" if timed_out else "hold vanished")
        checkout.give_back_voucher(booking, reason="expired")
    return booking


def expire_stale_bookings(*, now: datetime | None = None) -> list[Booking]:
    """Expire every PENDING booking past its time or without its hold; safe in many processes."""
    now = now or timezone.now()
    pending = Booking.objects.filter(status=Booking.Status.PENDING).only("pk")
    expired = (expire_booking(booking=booking, now=now) for booking in pending)
    return [booking for booking in expired if booking is not None]


def _end_booking(
    *, booking: Booking, status: str, kind: str, actor=None, reason: str, why: str = ""
) -> Booking:
    """End a PENDING booking (and record why); a booking in any other state is left as it is."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.PENDING:
            booking.status = status
            booking.save(update_fields=["status", "updated_at"])
            _release_on_commit(booking)  # viewers first: see above _release_on_commit
            _audit(
                kind, booking, actor=actor, reason=reason, **({"staff_reason": why} if why else {})
            )
            checkout.give_back_voucher(booking, reason=reason)
    return booking


def _audit(kind: str, booking: Booking, *, actor=None, seats=None, **detail) -> None:
    record(
        kind,
        actor=actor,
        showtime_id=booking.showtime_id,
        booking_ref=booking.ref,
        seats=booking.seat_labels if seats is None else seats,
        detail=detail,
    )


def _locked(booking: Booking) -> Booking:
    """The booking, read again and locked until the transaction ends (only its own row: not the
    showtime every other buyer reads)."""
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("user", "showtime__movie", "showtime__auditorium")
        .get(pk=booking.pk)
    )


def _booking_facts(booking: Booking) -> dict:
    """What an email about the booking says, as plain data (the notifier reads no bookings)."""
    showtime = booking.showtime
    return {
        "email": booking.user.email,
        "movie": showtime.movie.title,
        "auditorium": showtime.auditorium.name,
        "starts_at": showtime.starts_at.isoformat(),
        **_money_facts(booking.amount),
        "booking_path": booking.get_absolute_url(),
        # Each ticket as the buyer chose it, amounts already written in the cinema's currency.
        "tickets": [
            {
                "seat": line.seat,
                "type": line.type_name,
                "category": line.category_name,
                "paid": format_money(line.paid),
            }
            for line in Quote.from_data(booking.lines).lines
            if line.seat in booking.seat_labels
        ],
        **(
            {"discount": format_money(booking.discount), "voucher": booking.voucher.code}
            if booking.voucher_id and booking.discount
            else {}
        ),
    }


def _money_facts(amount: Decimal) -> dict:
    """An amount as data and as the buyer reads it (the notifier formats no money itself)."""
    return {"amount": str(amount), "money": format_money(amount)}


def _holds_its_seats(booking: Booking) -> bool:
    return holds.owns(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )


# Viewers first: a change registers its seat broadcast with transaction.on_commit BEFORE
# recording its events (record() registers their append to the stream), so after the commit the
# viewers are told first. A process killed in between leaves its event unappended, and the
# catch-up that appends it tells the viewers again (audit.stream.events_caught_up); the other
# way round, a kill between the append and the broadcast would leave the viewers wrong for good.


def _release_on_commit(booking: Booking) -> None:
    # The showtime is read (if the booking has not) after the commit, not under its lock.
    transaction.on_commit(
        lambda: _release_now(
            showtime=booking.showtime, labels=booking.seat_labels, token=booking.hold_token
        ),
        robust=True,
    )


def _release_after_commit(*, showtime: Showtime, labels: list[str], token: str) -> None:
    transaction.on_commit(
        lambda: _release_now(showtime=showtime, labels=labels, token=token), robust=True
    )


def _release_now(*, showtime: Showtime, labels: list[str], token: str) -> None:
    """Drop whatever is left of the hold and tell every viewer (once the change committed)."""
    holds.release(showtime_id=showtime.pk, labels=labels, token=token)
    seats_changed(showtime=showtime, labels=labels)


def _sold_on_commit(booking: Booking) -> None:
    """Once the tickets commit: the hold becomes a sold mark, and every viewer sees them sold."""

    def after_commit():
        holds.sell(
            showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
        )
        seats_changed(
            showtime=booking.showtime, labels=booking.seat_labels, booked=set(booking.seat_labels)
        )

    transaction.on_commit(after_commit, robust=True)
