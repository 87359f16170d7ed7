"""When a screening changes under its buyers: staff cancel a showtime, move an access screening
to another time, or take its access away. Every buyer with a confirmed booking is told once (one
emailing audit event per booking and change, which the database owes like every email), with two
choices, good once, while the booking is still for that screening: move to another screening of
the film with the same access, or a full refund, even past the refund cut-off (the cinema changed
the screening, not the buyer).

What counts as access: open captions, subtitles (in their language), audio description and a
relaxed screening, what a deaf or hard-of-hearing, blind or partially sighted, or autistic
moviegoer chose the screening for. Its format, audio language, parent-and-baby and seniors are
not: changing them is an ordinary showtime change. Subtitles turned to another language are
subtitles taken away. A cancelled showtime tells every buyer, access screening or not (nobody
should learn of a cancellation at the door); a move to another time tells the buyers of an access
screening.

Money: a move keeps what was paid, both ways. Every ticket keeps its type and its paid price: no
new charge when the other screening costs more, nothing back when it costs less (whoever prefers
their money has the full refund), so the payment, the tickets and any later refund of them keep
agreeing.
"""

from collections import Counter
from dataclasses import dataclass, replace

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from audit.services import Kind, record
from bookings.errors import (
    BookingClosed,
    ChangeAnswered,
    DeviceUnavailable,
    NoSameAccess,
    SeatsUnavailable,
)
from bookings.models import (
    Booking,
    ChangeNotice,
    DeviceLoan,
    ScreeningChange,
    Ticket,
    VoidTicket,
)
from bookings.services import seat_changes, transfers
from bookings.services.devices import LIVE_BOOKING
from bookings.services.records import audit_booking, booking_facts, locked
from bookings.services.refunds import Refunded, kept, record_refund, send_refund
from bookings.services.rules import highest_fence, sales_ended
from bookings.services.tickets import void_tickets
from bookings.services.waitlist import choose_seats
from cinema.access import COMPANION, SPACE, companions
from cinema.models import AccessDevice, Showtime
from cinema.plans import Plan, get_plan
from cinema.pricing import Quote
from seats import holds
from seats.best import NEVER_OFFERED, ranked_blocks, wheelchair_places
from seats.seatmap import read_seat_states

ACCESS_FIELDS = ("open_captions", "subtitle_language", "audio_described", "relaxed")
ACCESS_WORDS = {
    "open_captions": "open captions",
    "audio_described": "audio description",
    "relaxed": "a relaxed screening",
}
# The seats of a move are held this long between being chosen and the tickets committing.
MOVE_HOLD_SECONDS = 60
# How many other screenings a buyer is shown to move to, soonest first.
MOVE_CHOICES = 10
REFUND_REASON = "screening changed"
SIGNING_SALT = "bookings.screening_change"


def access_of(showtime: Showtime) -> dict:
    """The access the showtime has, only what it has: {"subtitle_language": "English", ...}."""
    return {name: getattr(showtime, name) for name in ACCESS_FIELDS if getattr(showtime, name)}


def access_words(access: dict) -> list[str]:
    """Access in words, as the email and the pages say it."""
    return [
        f"{value} subtitles" if name == "subtitle_language" else ACCESS_WORDS[name]
        for name, value in access.items()
    ]


def note_showtime_change(*, showtime: Showtime, before: Showtime, actor) -> ScreeningChange | None:
    """In the caller's transaction, after `showtime` was saved over `before`: when it was an
    access screening and lost some of its access or moved to another time, record the change
    and tell its buyers. None for any other change (nothing is told)."""
    access = access_of(before)
    if not access:
        return None
    removed = {name: value for name, value in access.items() if getattr(showtime, name) != value}
    if removed:
        kind = ScreeningChange.Kind.ACCESS_REMOVED
    elif showtime.starts_at != before.starts_at:
        kind = ScreeningChange.Kind.MOVED
    else:
        return None
    change = ScreeningChange.objects.create(
        showtime=showtime,
        kind=kind,
        access=access,
        removed=access_words(removed),
        was_starts_at=before.starts_at,
        actor=actor,
    )
    tell_buyers(change=change)
    return change


def cancel_showtime(*, showtime: Showtime, actor, why: str = "") -> ScreeningChange:
    """Cancel a showtime still to come: it sells nothing again, and every buyer with a confirmed
    booking is told, with their choices. Refused for one cancelled already or begun."""
    with transaction.atomic():
        showtime = Showtime.objects.select_for_update().get(pk=showtime.pk)
        if showtime.cancelled_at is not None:
            raise BookingClosed("This showtime is cancelled already.")
        if not showtime.is_upcoming:
            raise BookingClosed("This showtime has started: it can no longer be cancelled.")
        showtime.cancelled_at, showtime.on_sale = timezone.now(), False
        Showtime.objects.filter(pk=showtime.pk).update(
            cancelled_at=showtime.cancelled_at, on_sale=False
        )
        record(
            Kind.SHOWTIME_CANCELLED,
            actor=actor,
            showtime_id=showtime.pk,
            detail={"why": why, "access": access_words(access_of(showtime))},
        )
        change = ScreeningChange.objects.create(
            showtime=showtime,
            kind=ScreeningChange.Kind.CANCELLED,
            access=access_of(showtime),
            was_starts_at=showtime.starts_at,
            actor=actor,
        )
        tell_buyers(change=change)
    return change


def tell_buyers(*, change: ScreeningChange) -> list[ChangeNotice]:
    """Tell every buyer with a confirmed booking for the changed showtime, and everyone they
    passed tickets on to, once per change however often this runs (the notice's UNIQUE row,
    written with their emailing events)."""
    bookings = (
        Booking.objects.filter(showtime_id=change.showtime_id, status=Booking.Status.CONFIRMED)
        .exclude(change_notices__change=change)
        .select_related("user", "voucher", "showtime__movie", "showtime__auditorium")
        .prefetch_related("devices")
        .order_by("pk")
    )
    # What happened, said alike to the buyer and (without the choices) to their receivers.
    told_of = {
        "change": change.pk,
        "what": change.kind,
        "removed": change.removed,
        "was_starts_at": change.was_starts_at.isoformat() if change.was_starts_at else "",
    }
    told = []
    for booking in bookings:
        try:
            with transaction.atomic():
                notice = ChangeNotice.objects.create(change=change, booking=booking)
                audit_booking(
                    Kind.SCREENING_CHANGE_TOLD,
                    booking,
                    actor=change.actor,
                    notice=notice.pk,
                    **told_of,
                    move_path=choice_path(notice, "move"),
                    refund_path=choice_path(notice, "refund"),
                    **booking_facts(booking),
                )
                transfers.tell_receivers(
                    Kind.PASSED_ON_CHANGED, booking, actor=change.actor, **told_of
                )
        except IntegrityError:
            continue  # told by a telling running at the same time
        told.append(notice)
    return told


def choice_path(notice: ChangeNotice, choice: str) -> str:
    """The signed link to one choice ("move" or "refund"), tied to the booking and the change;
    the same every time it is written (no time in it: the choice itself is what ends it)."""
    token = signing.Signer(salt=_salt(notice.booking.ref)).sign_object(
        [notice.pk, notice.change_id]
    )
    return reverse(f"bookings:change_{choice}", args=[notice.booking.ref, token])


def _salt(ref: str) -> str:
    return f"{SIGNING_SALT}:{ref}"


def notice_for(*, ref: str, token: str, user) -> ChangeNotice | None:
    """The notice a link names, for its booking's owner only; None for a link that is not one
    (altered, for another booking) or not theirs."""
    try:
        notice_id, change_id = signing.Signer(salt=_salt(ref)).unsign_object(token)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return (
        ChangeNotice.objects.select_related(
            "change__showtime__movie",
            "change__showtime__auditorium",
            "booking__showtime__movie",
            "booking__showtime__auditorium",
            "moved_to__movie",
        )
        .filter(pk=notice_id, change_id=change_id, booking__ref=ref, booking__user=user)
        .first()
    )


def check_open(notice: ChangeNotice) -> None:
    """Refuse a choice once one is made, the booking is no longer confirmed for the changed
    screening, or that screening (still on) has begun."""
    booking, change = notice.booking, notice.change
    if notice.choice == ChangeNotice.Choice.MOVED:
        raise ChangeAnswered(
            f"You have moved this booking already, to {notice.moved_to}. Your new tickets are "
            "on its page."
        )
    if notice.choice == ChangeNotice.Choice.REFUNDED:
        raise ChangeAnswered("You have had this booking refunded already.")
    if booking.status != Booking.Status.CONFIRMED or booking.showtime_id != change.showtime_id:
        raise ChangeAnswered("This booking has changed since we wrote: see it on its page.")
    if change.kind != ScreeningChange.Kind.CANCELLED and not change.showtime.is_upcoming:
        raise BookingClosed("The screening has started: it can no longer be changed or refunded.")


def open_notice(booking: Booking) -> ChangeNotice | None:
    """The newest change the booking's buyer may still answer (for its page), or None."""
    if booking.status != Booking.Status.CONFIRMED:
        return None
    notice = (
        booking.change_notices.filter(choice="", change__showtime_id=booking.showtime_id)
        .select_related("change__showtime")
        .order_by("-pk")
        .first()
    )
    if notice is None:
        return None
    notice.booking = booking
    try:
        check_open(notice)
    except BookingClosed:
        return None
    return notice


@dataclass(frozen=True)
class MoveChoice:
    showtime: Showtime
    labels: list[str]  # the seats the booking would get, in the order of its tickets


def move_choices(*, notice: ChangeNotice) -> list[MoveChoice]:
    """The screenings the booking may move to now, soonest first, each with the seats it would
    get: same film, same access, selling, with seats like the booking's free."""
    categories = _categories(notice.booking)
    choices = []
    for showtime in _same_access(notice.change)[:MOVE_CHOICES]:
        labels = _seats_for(showtime=showtime, categories=categories)
        if labels is not None:
            choices.append(MoveChoice(showtime=showtime, labels=labels))
    return choices


def _same_access(change: ScreeningChange) -> QuerySet[Showtime]:
    now = timezone.now()
    return (
        Showtime.objects.filter(
            movie_id=change.showtime.movie_id,
            cancelled_at__isnull=True,
            on_sale=True,
            starts_at__gt=now,
            **change.access,
        )
        .filter(Q(on_sale_at__isnull=True) | Q(on_sale_at__lte=now))
        .exclude(pk=change.showtime_id)
        .select_related("movie", "auditorium")
        .order_by("starts_at")
    )


def _categories(booking: Booking) -> list[str]:
    return [line.category for line in _lines(booking)]


def _lines(booking: Booking) -> list:
    """The booking's tickets as quoted (type, category, amounts), those it still has."""
    return [
        line for line in Quote.from_data(booking.lines).lines if line.seat in booking.seat_labels
    ]


def _seats_for(*, showtime: Showtime, categories: list[str]) -> list[str] | None:
    plan = get_plan(showtime.auditorium)
    states = read_seat_states(showtime=showtime, plan=plan)
    return place(plan=plan, taken=states.booked | set(states.held), categories=categories)


def place(*, plan: Plan, taken: set[str], categories: list[str]) -> list[str] | None:
    """A free seat of each category asked for (in that order), side by side where the hall has
    them so: a wheelchair space with its companion seat beside it, each other category's seats
    as best available; None when the hall has not that many free of a category."""
    taken = set(taken)
    sellable = {label for label, seat in plan.seats_by_label.items() if not seat.blocked}
    wanted = Counter(categories)
    chosen: dict[str, list[str]] = {}
    pairs = companions(plan)
    for _ in range(wanted.pop(SPACE, 0)):
        together = wanted[COMPANION] > 0
        places = wheelchair_places(
            plan=plan, taken=taken, companions=pairs, count=2 if together else 1, limit=1
        ) or wheelchair_places(plan=plan, taken=taken, companions=pairs, count=1, limit=1)
        if not places:
            return None
        labels = places[0].labels
        chosen.setdefault(SPACE, []).append(labels[0])
        if len(labels) == 2:
            chosen.setdefault(COMPANION, []).append(labels[1])
            wanted[COMPANION] -= 1
        taken.update(labels)
    for kind, count in wanted.items():
        if count <= 0:
            continue
        labels = None
        if kind not in NEVER_OFFERED:
            blocks = ranked_blocks(plan=plan, taken=taken, count=count, kind=kind, limit=1)
            labels = blocks[0].labels if blocks else None
        labels = labels or choose_seats(
            plan=plan, free=sellable - taken, count=count, categories=[kind]
        )
        if labels is None:
            return None
        chosen.setdefault(kind, []).extend(labels)
        taken.update(labels)
    return [chosen[kind].pop(0) for kind in categories]


def move_booking(*, notice: ChangeNotice, to: Showtime, user) -> Booking:
    """Move the notice's booking to `to`, all or nothing: new tickets for seats like the old
    (held while the tickets are written; the UNIQUE constraint has the last word), the old
    tickets void and their seats free, its access devices along, tickets passed on still their
    receivers' (each told), and no money moved."""
    placed: list[tuple[Showtime, list[str], str]] = []
    try:
        with transaction.atomic():
            return _move(notice=notice, to=to, user=user, placed=placed)
    except BaseException:
        # Seats held for a move that did not commit own nothing: free them now, not in a minute.
        for showtime, labels, token in placed:
            seat_changes.hold_undone(showtime=showtime, labels=labels, token=token)
        raise


def _move(*, notice: ChangeNotice, to: Showtime, user, placed: list) -> Booking:
    booking = locked(notice.booking)
    notice = _locked_notice(notice, booking)
    check_open(notice)
    target = _same_access(notice.change).filter(pk=to.pk).first()
    if target is None or sales_ended(target):
        raise NoSameAccess(
            "That screening is not one you can move to: choose another, or take the full refund."
        )
    lines = _lines(booking)
    labels = _seats_for(showtime=target, categories=[line.category for line in lines])
    if labels is None:
        raise NoSameAccess(
            f"{target} has no longer seats like yours free together: choose another screening, "
            "or take the full refund."
        )
    token = holds.new_token(booking.user_id)
    held = holds.hold(
        showtime_id=target.pk,
        labels=labels,
        token=token,
        ttl_seconds=MOVE_HOLD_SECONDS,
        max_extensions=0,
        fence_floor=lambda: highest_fence(showtime=target),
    )
    if not held.ok:
        raise SeatsUnavailable(
            "Someone took those seats a moment ago: look at the screenings again.",
            conflicts=held.conflicts or [],
        )
    placed.append((target, labels, token))
    was_showtime, was_labels, was_token = (
        booking.showtime,
        list(booking.seat_labels),
        booking.hold_token,
    )
    _move_devices(booking=booking, to=target)
    old = list(booking.tickets.select_related("seat"))
    void_tickets(booking, old, reason=VoidTicket.Reason.MOVED)
    Ticket.objects.filter(pk__in=[ticket.pk for ticket in old]).delete()
    moved = [replace(line, seat=label) for line, label in zip(lines, labels, strict=True)]
    renamed = {line.seat: label for line, label in zip(lines, labels, strict=True)}
    # A ticket passed on stays its receiver's: the new seat's ticket, through the same transfer.
    passed_on = {renamed.get(ticket.seat.label): ticket.transfer_id for ticket in old}
    plan = get_plan(target.auditorium)
    try:
        with transaction.atomic():
            Ticket.objects.bulk_create(
                Ticket(
                    booking=booking,
                    showtime=target,
                    seat_id=plan.seats_by_label[line.seat].id,
                    ticket_type_id=line.type_id,
                    category=line.category,
                    price=line.paid,
                    discount=line.discount,
                    transfer_id=passed_on.get(line.seat),
                )
                for line in moved
            )
    except IntegrityError:
        raise SeatsUnavailable(
            "Those seats were sold a moment ago: look at the screenings again.", conflicts=[]
        ) from None
    booking.showtime, booking.seat_labels = target, labels
    booking.lines = Quote(lines=tuple(moved)).as_data()
    booking.hold_token, booking.fence = token, held.fence
    booking.save(
        update_fields=["showtime", "seat_labels", "lines", "hold_token", "fence", "updated_at"]
    )
    notice.choice, notice.moved_to, notice.chosen_at = (
        ChangeNotice.Choice.MOVED,
        target,
        timezone.now(),
    )
    notice.save(update_fields=["choice", "moved_to", "chosen_at"])
    transfers.tell_receivers_of_move(booking, renamed=renamed, actor=user)
    seat_changes.booking_moved(
        booking=booking,
        was_showtime=was_showtime,
        was_labels=was_labels,
        was_token=was_token,
        actor=user,
        change=notice.change_id,
        notice=notice.pk,
        from_showtime=was_showtime.pk,
        from_seats=was_labels,
        **booking_facts(booking),
    )
    return booking


def _locked_notice(notice: ChangeNotice, booking: Booking) -> ChangeNotice:
    notice = (
        ChangeNotice.objects.select_for_update(of=("self",))
        .select_related("change__showtime", "moved_to__movie")
        .get(pk=notice.pk)
    )
    notice.booking = booking
    return notice


def _move_devices(*, booking: Booking, to: Showtime) -> None:
    """The booking's access devices go with it, if the other hall has them to lend."""
    loans = list(booking.devices.filter(returned_at=None))
    for kind, count in Counter(loan.kind for loan in loans).items():
        stock = (
            AccessDevice.objects.select_for_update()
            .filter(auditorium_id=to.auditorium_id, kind=kind)
            .first()
        )
        lent = DeviceLoan.objects.filter(
            showtime=to, kind=kind, returned_at=None, booking__status__in=LIVE_BOOKING
        ).count()
        if stock is None or lent + count > stock.stock:
            name = AccessDevice.Kind(kind).label.lower()
            raise DeviceUnavailable(
                f"{to} has no {name} left to lend for your booking: choose another screening, "
                "or take the full refund."
            )
    DeviceLoan.objects.filter(pk__in=[loan.pk for loan in loans]).update(showtime=to)


def refund_changed_booking(*, notice: ChangeNotice, user) -> Refunded:
    """The notice's booking refunded in full, whatever the refund cut-off (a moved or changed
    show's tickets the buyer passed on stay with their holders): the choice and the refund are
    recorded together, and the gateway asked once they have committed."""
    with transaction.atomic():
        booking = locked(notice.booking)
        notice = _locked_notice(notice, booking)
        check_open(notice)
        notice.choice, notice.chosen_at = ChangeNotice.Choice.REFUNDED, timezone.now()
        notice.save(update_fields=["choice", "chosen_at"])
        # A cancelled show's tickets are worth nothing to anyone: all of them, passed on or
        # not, go back to the card that paid (their receivers are told); otherwise the buyer's.
        cancelled = notice.change.kind == ScreeningChange.Kind.CANCELLED
        refunds = record_refund(
            booking=booking,
            actor=user,
            reason=REFUND_REASON,
            labels=None if cancelled else kept(booking),
            passed_on_too=cancelled,
        )
    return Refunded([send_refund(refund=refund) for refund in refunds])
