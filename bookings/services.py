"""The booking lifecycle: hold, extend, pay, cancel, expire.

PENDING (seats held in Redis) -> CONFIRMED (paid) | CANCELLED (user or staff) | EXPIRED (timeout).
Redis decides who may pay; the UNIQUE (showtime, seat) constraint on Ticket decides, finally,
who gets a seat. Every function here leaves either the whole change or nothing, and records its
audit event in the same transaction as the change.
"""

import logging
import math
import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.services import has_verified_email
from audit.services import Kind, record
from bookings.errors import (
    BookingClosed,
    HoldLimitReached,
    HoldLost,
    InvalidRequest,
    PaymentFailed,
    SalesEnded,
    SeatsUnavailable,
    VerificationRequired,
)
from bookings.models import Booking, Payment, Ticket
from bookings.payments import PaymentDeclined, get_gateway
from bookings.ratelimit import check_rate
from bookings.selectors import booked_labels
from cinema.models import Showtime
from seats import holds
from seats.best import best_available
from seats.broadcast import seats_changed
from seats.seatmap import Plan, get_plan

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
    """Holding and extending need the showtime on sale and not started."""
    if reason := _sales_ended(showtime):
        raise BookingClosed(_NOT_ON_SALE[reason])


def _check_sales_open(showtime: Showtime) -> None:
    """Paying needs the same; a booking that can no longer be paid ends, its seats released."""
    if reason := _sales_ended(showtime):
        raise SalesEnded(_NOT_PAYABLE[reason], reason=reason)


def _hold_owner(user) -> str:
    """Whose deadline a hold counts against in Redis: the account."""
    return f"user:{user.pk}"


def _highest_fence(*, showtime: Showtime) -> int:
    return Booking.objects.filter(showtime=showtime).aggregate(top=Max("fence"))["top"] or 0


def _check_account_limits(*, user, showtime: Showtime, labels: list[str]) -> Booking | None:
    """Lock the account's open bookings and refuse a hold past its limits across showtimes;
    returns the open booking for `showtime`, which the new selection replaces.

    Locking the user row makes two holds of one account on different showtimes take turns, so
    together they cannot pass the limit either.
    """
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    existing, others = None, []
    for booking in Booking.objects.select_for_update().filter(
        user=user, status=Booking.Status.PENDING
    ):
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


def hold_seats(
    *, user, showtime: Showtime, labels: list[str] | None = None, best: int | None = None
) -> Booking:
    """Hold the seats (or the `best` n) for the user as one PENDING booking, or hold nothing.

    A user's open booking for the showtime is replaced by the new selection atomically: if the
    new seats cannot all be held, the old hold stays as it was.
    """
    check_rate(user=user, action="hold")
    if settings.HOLD_REQUIRES_VERIFIED_EMAIL and not has_verified_email(user=user):
        raise VerificationRequired(
            "Confirm your email address before holding seats: open the link we sent you."
        )
    _check_on_sale(showtime)
    plan = get_plan(showtime.auditorium)
    booked = booked_labels(showtime=showtime, plan=plan)
    if best is not None:
        labels = _best_seats(showtime=showtime, plan=plan, booked=booked, count=best)
    labels = _validate_labels(plan=plan, labels=labels or [])
    sold = [label for label in labels if label in booked]
    if sold:
        raise SeatsUnavailable("Some of those seats were just sold.", conflicts=sold)

    with transaction.atomic():
        existing = _check_account_limits(user=user, showtime=showtime, labels=labels)
        token = existing.hold_token if existing else secrets.token_urlsafe(16)
        previous = set(existing.seat_labels) if existing else set()
        result = holds.hold(
            showtime_id=showtime.pk,
            labels=labels,
            token=token,
            ttl_seconds=settings.HOLD_TTL_SECONDS,
            owner=_hold_owner(user),
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
            raise SeatsUnavailable(
                "Someone else is holding some of those seats.", conflicts=result.conflicts
            )
        added = [label for label in labels if label not in previous]
        # A buyer releases their hold only after their tickets commit, so a seat sold between the
        # check above and this hold is visible now: give it back rather than hold a sold seat.
        sold = _sold_among(showtime=showtime, labels=added)
        if sold:
            holds.release(showtime_id=showtime.pk, labels=added, token=token)
            raise SeatsUnavailable("Some of those seats were just sold.", conflicts=sold)
        try:
            booking = existing or Booking(user=user, showtime=showtime, hold_token=token)
            booking.seat_labels = labels
            booking.amount = showtime.price * len(labels)
            booking.fence = result.fence
            booking.expires_at = result.expires_at
            with transaction.atomic():
                booking.save()
        except IntegrityError:
            # A second request of the same user won the race for the one open booking.
            holds.release(showtime_id=showtime.pk, labels=added, token=token)
            raise SeatsUnavailable(
                "You already have seats held for this showtime.", conflicts=[]
            ) from None
        dropped = sorted(previous - set(labels))
        _audit(
            Kind.HOLD_PLACED,
            booking,
            actor=user,
            fence=result.fence,
            expires_at=result.expires_at.isoformat(),
            **({"best": best} if best is not None else {}),
            **({"replaced": dropped} if dropped else {}),
        )

        def after_commit():
            holds.release(showtime_id=showtime.pk, labels=dropped, token=token)
            seats_changed(
                showtime_id=showtime.pk, labels=[*labels, *dropped], holder_id=user.pk, token=token
            )

        transaction.on_commit(after_commit, robust=True)
    return booking


def suggest_best_seats(*, showtime: Showtime, count: int) -> list[str]:
    """The `count` best seats free right now, to show before anything is held."""
    _check_on_sale(showtime)
    plan = get_plan(showtime.auditorium)
    booked = booked_labels(showtime=showtime, plan=plan)
    return _best_seats(showtime=showtime, plan=plan, booked=booked, count=count)


def _best_seats(*, showtime: Showtime, plan: Plan, booked: set[str], count: int) -> list[str]:
    if not 1 <= count <= settings.MAX_SEATS_PER_BOOKING:
        raise InvalidRequest(f"Best available takes 1 to {settings.MAX_SEATS_PER_BOOKING} seats.")
    held = holds.held_labels(showtime_id=showtime.pk, labels=list(plan.seats_by_label))
    labels = best_available(plan=plan, taken=booked | set(held), count=count)
    if labels is None:
        raise SeatsUnavailable(f"There are no {count} seats together left.", conflicts=[])
    return labels


def extend_hold(*, booking: Booking) -> Booking:
    """Give a PENDING booking another hold period, while every seat is still its own, sales are
    open, and never past the owner's deadline."""
    if booking.status != Booking.Status.PENDING:
        raise BookingClosed("Only a booking waiting for payment can be extended.")
    _check_on_sale(booking.showtime)
    result = holds.extend(
        showtime_id=booking.showtime_id,
        labels=booking.seat_labels,
        token=booking.hold_token,
        ttl_seconds=settings.HOLD_TTL_SECONDS,
        max_extensions=settings.HOLD_MAX_EXTENSIONS,
        owner=_hold_owner(booking.user),
    )
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


def pay_booking(*, booking: Booking, card: str = "") -> Booking:
    """Charge once and confirm; paying again returns the confirmed booking and charges nothing.

    A declined card leaves the booking PENDING with its hold. A lost hold or a seat sold to
    someone else ends the booking with nothing charged.
    """
    gateway = get_gateway()
    charge_ref = ""
    try:
        with transaction.atomic():
            # Lock the booking row only, not the showtime every other buyer reads.
            booking = (
                Booking.objects.select_for_update(of=("self",))
                .select_related("user", "showtime__movie", "showtime__auditorium")
                .get(pk=booking.pk)
            )
            if booking.status == Booking.Status.CONFIRMED:
                return booking
            if booking.status != Booking.Status.PENDING:
                raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
            _check_sales_open(booking.showtime)
            if not _holds_its_seats(booking):
                raise HoldLost(
                    "Your hold on these seats ran out before payment. Nothing was charged."
                )
            plan = get_plan(booking.showtime.auditorium)
            try:
                with transaction.atomic():
                    Ticket.objects.bulk_create(
                        Ticket(
                            booking=booking,
                            showtime_id=booking.showtime_id,
                            seat_id=plan.seats_by_label[label].id,
                        )
                        for label in booking.seat_labels
                    )
            except IntegrityError:
                raise SeatsUnavailable(
                    "Sorry, those seats were just sold to someone else. Nothing was charged.",
                    conflicts=sorted(
                        booked_labels(showtime=booking.showtime, plan=plan)
                        & set(booking.seat_labels)
                    ),
                ) from None
            charge_ref = gateway.charge(
                amount=booking.amount, idempotency_key=booking.ref, card=card
            )
            Payment.objects.create(
                booking=booking,
                kind=Payment.Kind.CHARGE,
                amount=booking.amount,
                reference=charge_ref,
            )
            booking.status = Booking.Status.CONFIRMED
            booking.payment_ref = charge_ref
            booking.save(update_fields=["status", "payment_ref", "updated_at"])
            _audit(
                Kind.BOOKING_CONFIRMED,
                booking,
                actor=booking.user,
                payment_ref=charge_ref,
                **_booking_facts(booking),
            )
            _release_on_commit(booking)
            # Bought: the buyer may hold seats of this showtime again at once.
            transaction.on_commit(
                lambda: holds.close_window(
                    showtime_id=booking.showtime_id, owner=_hold_owner(booking.user)
                ),
                robust=True,
            )
    except PaymentDeclined as declined:
        # The tickets rolled back; the booking stays PENDING with its hold, so the user can retry.
        _audit(Kind.PAYMENT_FAILED, booking, actor=booking.user, reason="declined")
        raise PaymentFailed(str(declined)) from None
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
    except SeatsUnavailable:
        _end_booking(
            booking=booking,
            status=Booking.Status.EXPIRED,
            kind=Kind.PAYMENT_FAILED,
            reason="seats taken",
        )
        raise
    except Exception:
        if charge_ref:
            # The charge went through but the booking did not commit: give the money back.
            gateway.refund(
                payment_ref=charge_ref, amount=booking.amount, idempotency_key=f"{booking.ref}-void"
            )
            log.error("booking %s failed after charging; refunded %s", booking.ref, charge_ref)
        raise
    return booking


def cancel_booking(*, booking: Booking) -> Booking:
    """The user cancels: release a PENDING hold, or refund a CONFIRMED one and free its seats."""
    check_rate(user=booking.user, action="release")
    booking = Booking.objects.select_related("showtime", "user").get(pk=booking.pk)
    if booking.status == Booking.Status.PENDING:
        return _end_booking(
            booking=booking,
            status=Booking.Status.CANCELLED,
            kind=Kind.SEATS_RELEASED,
            actor=booking.user,
            reason="cancelled",
        )
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingClosed(f"This booking is already {booking.get_status_display().lower()}.")
    if booking.showtime.starts_at <= timezone.now():
        raise BookingClosed("The showtime has started; this booking can no longer be refunded.")
    return refund_booking(booking=booking, actor=booking.user)


def staff_cancel(*, booking: Booking, actor, why: str = "") -> Booking:
    """Staff end a booking whatever its state: refund a CONFIRMED one, release a PENDING hold;
    `why` (the staff member's reason) goes on the audit event."""
    if booking.status == Booking.Status.CONFIRMED:
        return refund_booking(booking=booking, actor=actor, why=why)
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
        record(
            Kind.SEATS_RELEASED,
            actor=actor,
            showtime_id=showtime.pk,
            seats=labels,
            detail={"reason": "released by staff", "orphan": True},
        )
        _release_after_commit(showtime_id=showtime.pk, labels=labels, token=token)
    return labels


def refund_booking(*, booking: Booking, actor, why: str = "") -> Booking:
    """Refund a CONFIRMED booking in full, delete its tickets and free its seats."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("user", "showtime__movie", "showtime__auditorium")
            .get(pk=booking.pk)
        )
        if booking.status != Booking.Status.CONFIRMED:
            raise BookingClosed(f"This booking is {booking.get_status_display().lower()}.")
        refund_ref = get_gateway().refund(
            payment_ref=booking.payment_ref, amount=booking.amount, idempotency_key=booking.ref
        )
        Payment.objects.create(
            booking=booking, kind=Payment.Kind.REFUND, amount=booking.amount, reference=refund_ref
        )
        booking.tickets.all().delete()
        booking.status = Booking.Status.CANCELLED
        booking.save(update_fields=["status", "updated_at"])
        _audit(
            Kind.SEATS_RELEASED,
            booking,
            actor=actor,
            reason="refunded",
            refunded=True,
            **({"staff_reason": why} if why else {}),
            refund_ref=refund_ref,
            by_staff=actor is not None and actor.pk != booking.user_id,
            **_booking_facts(booking),
        )
        _release_on_commit(booking)
    return booking


def expire_booking(*, booking: Booking, now: datetime | None = None) -> Booking | None:
    """Expire a PENDING booking whose hold is gone or past its time; None if it is still live."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING:
            return None
        timed_out = booking.expires_at is None or booking.expires_at <= now
        if not timed_out and _holds_its_seats(booking):
            return None
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        _audit(Kind.HOLD_EXPIRED, booking, reason="timeout" if timed_out else "hold vanished")
        _release_on_commit(booking)
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
            _audit(
                kind, booking, actor=actor, reason=reason, **({"staff_reason": why} if why else {})
            )
            _release_on_commit(booking)
    return booking


def _audit(kind: str, booking: Booking, *, actor=None, **detail) -> None:
    record(
        kind,
        actor=actor,
        showtime_id=booking.showtime_id,
        booking_ref=booking.ref,
        seats=booking.seat_labels,
        detail=detail,
    )


def _booking_facts(booking: Booking) -> dict:
    """What an email about the booking says, as plain data (the notifier reads no bookings)."""
    showtime = booking.showtime
    return {
        "email": booking.user.email,
        "movie": showtime.movie.title,
        "auditorium": showtime.auditorium.name,
        "starts_at": showtime.starts_at.isoformat(),
        "amount": str(booking.amount),
        "booking_path": booking.get_absolute_url(),
    }


def _sold_among(*, showtime: Showtime, labels: list[str]) -> list[str]:
    if not labels:
        return []
    sold = set(
        Ticket.objects.filter(showtime=showtime, seat__label__in=labels).values_list(
            "seat__label", flat=True
        )
    )
    return [label for label in labels if label in sold]


def _holds_its_seats(booking: Booking) -> bool:
    return holds.owns(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )


def _release_on_commit(booking: Booking) -> None:
    _release_after_commit(
        showtime_id=booking.showtime_id, labels=booking.seat_labels, token=booking.hold_token
    )


def _release_after_commit(*, showtime_id: int, labels: list[str], token: str) -> None:
    """Once the change commits: drop whatever is left of the hold and tell every viewer."""

    def after_commit():
        holds.release(showtime_id=showtime_id, labels=labels, token=token)
        seats_changed(showtime_id=showtime_id, labels=labels)

    transaction.on_commit(after_commit, robust=True)
