"""The waiting list of a sold-out showtime: joining and leaving it, and offering the seats that
come back to its entries, first come first served.

Seats come back through `seat_changes` (a release, an expiry, a refund, a hold that lapsed,
wheelchair places going on general sale), which runs `offer_freed_seats` once the change is
committed, in the same process, right after Redis has let the seats go: the next in line gets
them within the request or the sweeper pass that freed them, with no worker to wait for. Seats
staff add to a hall (a new seat, one unblocked) and a showtime staff change (put back on sale)
are offered the same way, once saved (`staff_changed_hall`, `staff_changed_showtime`). The
sweeper also runs it for every list someone waits on (`offer_waiting_lists`): that catches what
a process killed before its on-commit step left undone.

Wheelchair spaces and companion seats kept for wheelchair users (cinema.access) are offered,
until their release time, only to an entry that asks for those kinds alone.

Offering is idempotent and takes turns per showtime: it locks the list's row, reads the seats
free now (sold: the tickets; held: Redis, where every offer made before holds its seats), and
goes down the entries in the order they joined, giving each the first seats it fits. So no seat
is offered twice, and no entry is passed over for a later one that fits the same seats.

An offer is a PENDING booking of the entry's account, held in Redis like any other hold (so
the live map shows its seats held to everyone else), until the claim window ends
(WAITLIST_CLAIM_MINUTES, never closer to the show than WAITLIST_CUTOFF_MINUTES). Paying for it
claims it; the sweeper expiring it, or the customer releasing it, lapses it, and its seats go
to the next entry.
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Kind, record
from bookings import checkout
from bookings.errors import (
    AlreadyWaiting,
    BookingClosed,
    InvalidRequest,
    NotWaiting,
    SeatsAvailable,
    VerificationRequired,
)
from bookings.models import Booking, Waitlist, WaitlistEntry
from bookings.selectors import lock_account
from bookings.services import seat_changes
from bookings.services.records import audit_booking, booking_facts
from bookings.services.rules import (
    check_on_sale,
    end_booking,
    highest_fence,
    is_offer,
    offer_token,
    sales_ended,
)
from cinema.access import COMPANION, SPACE, kept_back
from cinema.models import Auditorium, Seat, Showtime
from cinema.plans import Plan, get_plan
from cinema.pricing import PricingError
from seats import holds
from seats.seatmap import read_seat_states


def choose_seats(
    *, plan: Plan, free: set[str], count: int, categories: Iterable[str] = ()
) -> list[str] | None:
    """`count` of the `free` seats of the accepted kinds (any kind when none is named): side by
    side in one row if the hall has that, else the first ones in the hall's order; None if
    there are not that many."""
    kinds = set(categories)
    rows: list[list[list[str]]] = []
    for row in plan.rows:
        runs: list[list[str]] = [[]]
        for seat in row.cells if row else ():
            if seat and seat.label in free and (not kinds or seat.kind in kinds):
                runs[-1].append(seat.label)
            elif runs[-1]:
                runs.append([])
        rows.append(runs)
    for runs in rows:
        for run in runs:
            if len(run) >= count:
                return run[:count]
    anywhere = [label for runs in rows for run in runs for label in run]
    return anywhere[:count] if len(anywhere) >= count else None


def _free_seats(*, showtime: Showtime, plan: Plan) -> tuple[set[str], set[str]]:
    """The seats nobody has bought or holds now, and the sold ones."""
    states = read_seat_states(showtime=showtime, plan=plan)
    sellable = {label for label, seat in plan.seats_by_label.items() if not seat.blocked}
    return sellable - states.booked - set(states.held), states.booked


def _open_to(*, categories: Iterable[str], free: set[str], kept: set[str]) -> set[str]:
    """The free seats an entry of these categories may have: the places kept for wheelchair
    users only if it asks for those alone."""
    wants = set(categories)
    return free if wants and wants <= {SPACE, COMPANION} else free - kept


def _validate_wish(*, plan: Plan, seats: int, categories: Iterable[str]) -> list[str]:
    if not 1 <= seats <= settings.MAX_SEATS_PER_BOOKING:
        raise InvalidRequest(f"Ask for 1 to {settings.MAX_SEATS_PER_BOOKING} seats.")
    categories = sorted(set(categories))
    unknown = [kind for kind in categories if kind not in plan.kinds]
    if unknown:
        names = dict(Seat.Kind.choices)
        shown = ", ".join(names.get(kind, kind[:20]) for kind in unknown[:5])
        raise InvalidRequest(f"This auditorium has no seats of the kind: {shown}.")
    return categories


def join_waitlist(
    *, user, showtime: Showtime, seats: int, categories: Iterable[str] = ()
) -> WaitlistEntry:
    """Put the account at the back of the showtime's waiting list, for `seats` seats of the
    accepted kinds; only while the showtime sells and has not that many free, once per account."""
    check_on_sale(showtime)
    plan = get_plan(showtime.auditorium)
    categories = _validate_wish(plan=plan, seats=seats, categories=categories)
    free, _ = _free_seats(showtime=showtime, plan=plan)
    free = _open_to(categories=categories, free=free, kept=kept_back(showtime=showtime, plan=plan))
    if choose_seats(plan=plan, free=free, count=seats, categories=categories):
        raise SeatsAvailable(
            f"There are {seats} seat{'s' if seats > 1 else ''} free for this showtime right now: "
            "pick them on the seat map."
        )
    with transaction.atomic():
        account = lock_account(user=user)
        if settings.HOLD_REQUIRES_VERIFIED_EMAIL and not account.verified:
            raise VerificationRequired(
                "Confirm your email address before joining the waiting list: open the link we "
                "sent you."
            )
        waitlist, _ = Waitlist.objects.get_or_create(showtime=showtime)
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    waitlist=waitlist, user=user, seats=seats, categories=categories
                )
        except IntegrityError:
            raise AlreadyWaiting("You are on this showtime's waiting list already.") from None
        record(
            Kind.WAITLIST_JOINED,
            actor=user,
            showtime_id=showtime.pk,
            detail={"entry": entry.pk, "wanted": seats, "categories": categories},
        )
    return entry


def leave_waitlist(*, user, showtime: Showtime) -> WaitlistEntry:
    """Take the account off the showtime's waiting list; seats on offer to it go to the next."""
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(waitlist_id=showtime.pk, user=user, status__in=WaitlistEntry.ACTIVE)
            .first()
        )
        if entry is None:
            raise NotWaiting("You are not on this showtime's waiting list.")
        offered = entry.booking if entry.status == WaitlistEntry.Status.OFFERED else None
        entry.status = WaitlistEntry.Status.LEFT
        entry.save(update_fields=["status", "updated_at"])
        record(Kind.WAITLIST_LEFT, actor=user, showtime_id=showtime.pk, detail={"entry": entry.pk})
        if offered is not None:
            end_booking(
                booking=offered,
                status=Booking.Status.CANCELLED,
                kind=Kind.SEATS_RELEASED,
                actor=user,
                reason="left the waiting list",
            )
    return entry


def pause_waitlist(*, showtime: Showtime, paused: bool, actor) -> Waitlist:
    """Stop offering seats from the showtime's list (joining goes on), or start again."""
    with transaction.atomic():
        waitlist, _ = Waitlist.objects.select_for_update().get_or_create(showtime=showtime)
        if waitlist.paused != paused:
            waitlist.paused = paused
            waitlist.save(update_fields=["paused"])
            record(
                Kind.WAITLIST_PAUSED,
                actor=actor,
                showtime_id=showtime.pk,
                detail={"paused": paused},
            )
            if not paused:
                offer_on_commit(showtime_id=showtime.pk)
    return waitlist


def offer_until(showtime: Showtime, now: datetime) -> datetime | None:
    """When an offer made now ends: the claim window, cut at the cut-off; None past it."""
    cutoff = showtime.starts_at - timedelta(minutes=settings.WAITLIST_CUTOFF_MINUTES)
    until = min(now + timedelta(minutes=settings.WAITLIST_CLAIM_MINUTES), cutoff)
    return until if until > now else None


def offer_on_commit(*, showtime_id: int) -> None:
    """Offer the showtime's free seats once the caller's transaction commits (after the steps
    `seat_changes` registered before it, so the seats are free in Redis by then)."""
    transaction.on_commit(lambda: offer_freed_seats(showtime_id=showtime_id), robust=True)


def offer_freed_seats(*, showtime_id: int) -> list[WaitlistEntry]:
    """Offer the seats free now to the showtime's waiting entries, in the order they joined;
    returns the entries offered some. Safe to run any number of times, in many processes."""
    # Most seats come back where nobody waits: a read, with no lock and no transaction.
    waiting = WaitlistEntry.objects.filter(
        waitlist_id=showtime_id, waitlist__paused=False, status=WaitlistEntry.Status.WAITING
    )
    if not waiting.exists():
        return []
    placed: list[tuple[Showtime, list[str], str]] = []
    try:
        with transaction.atomic():
            return _offer(showtime_id=showtime_id, placed=placed)
    except BaseException:
        # Holds placed for a transaction that did not commit own nothing: free them at once
        # rather than leave the seats off sale for a whole claim window.
        for showtime, labels, token in placed:
            seat_changes.hold_undone(showtime=showtime, labels=labels, token=token)
        raise


def _offer(*, showtime_id: int, placed: list) -> list[WaitlistEntry]:
    waitlist = (
        Waitlist.objects.select_for_update(of=("self",))
        .select_related("showtime__auditorium", "showtime__movie", "showtime__price_list")
        .filter(pk=showtime_id)
        .first()
    )
    if waitlist is None or waitlist.paused:
        return []
    showtime, now = waitlist.showtime, timezone.now()
    until = offer_until(showtime, now)
    if until is None or sales_ended(showtime) or showtime.sale_opens_later:
        return []
    waiting = list(
        waitlist.entries.filter(status=WaitlistEntry.Status.WAITING).select_related("user")
    )
    if not waiting:
        return []
    plan = get_plan(showtime.auditorium)
    free, booked = _free_seats(showtime=showtime, plan=plan)
    kept = kept_back(showtime=showtime, plan=plan, now=now)
    # An account paying for seats of its own here keeps its place and is offered nothing yet:
    # it has one open booking per showtime, and may be buying what it waited for.
    buying = set(
        Booking.objects.filter(
            showtime=showtime,
            status=Booking.Status.PENDING,
            user_id__in=[entry.user_id for entry in waiting],
        ).values_list("user_id", flat=True)
    )
    ttl = math.ceil((until - now).total_seconds())
    offered = []
    for entry in waiting:
        if not free:
            break
        if entry.user_id in buying:
            continue
        while labels := choose_seats(
            plan=plan,
            free=_open_to(categories=entry.categories, free=free, kept=kept),
            count=entry.seats,
            categories=entry.categories,
        ):
            conflicts = _offer_to(
                entry=entry, showtime=showtime, labels=labels, ttl=ttl, booked=booked, placed=placed
            )
            # Seats held since they were read are taken out, and the entry tries again.
            free -= set(conflicts or labels)
            if conflicts is None:
                offered.append(entry)
                break
    return offered


def _offer_to(
    *, entry: WaitlistEntry, showtime: Showtime, labels: list[str], ttl: int, booked, placed
) -> list[str] | None:
    """Hold `labels` for the entry and write its offer; None when done, else the seats someone
    else held first."""
    booking = Booking(user=entry.user, showtime=showtime)
    try:
        priced = checkout.price_selection(booking=booking, labels=labels, voucher=None)
    except PricingError as error:
        raise BookingClosed(str(error)) from None
    token = offer_token(entry.user_id)
    result = holds.hold(
        showtime_id=showtime.pk,
        labels=labels,
        token=token,
        ttl_seconds=ttl,
        max_extensions=0,
        fence_floor=lambda: highest_fence(showtime=showtime),
    )
    if not result.ok:
        return result.conflicts
    placed.append((showtime, labels, token))
    booking.hold_token, booking.seat_labels = token, labels
    booking.fence, booking.expires_at = result.fence, result.expires_at
    checkout.keep_quote(booking, priced)
    booking.save()
    entry.status = WaitlistEntry.Status.OFFERED
    entry.booking, entry.offered_until = booking, result.expires_at
    entry.save(update_fields=["status", "booking", "offered_until", "updated_at"])
    seat_changes.seats_held(
        booking=booking,
        dropped=[],
        booked=booked,
        actor=None,
        fence=result.fence,
        expires_at=result.expires_at.isoformat(),
        waitlist_entry=entry.pk,
    )
    audit_booking(
        Kind.WAITLIST_OFFERED,
        booking,
        entry=entry.pk,
        until=result.expires_at.isoformat(),
        **booking_facts(booking),
    )
    return None


def offer_ended(*, booking: Booking, kind: str) -> None:
    """The booking's seats were freed (`kind`, in the caller's transaction): an offer it held
    lapses, recorded, and its seats go to the next entry once committed."""
    if not is_offer(booking):
        return
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(booking=booking, status=WaitlistEntry.Status.OFFERED)
        .first()
    )
    if entry is not None:
        entry.status = WaitlistEntry.Status.LAPSED
        entry.save(update_fields=["status", "updated_at"])
        audit_booking(Kind.WAITLIST_LAPSED, booking, entry=entry.pk, reason=kind)


def offer_claimed(*, booking: Booking) -> None:
    """The booking's seats were sold (in the caller's transaction): the offer it held, if any,
    was taken, even late (paid just after its window)."""
    if not is_offer(booking):
        return
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(booking=booking)
        .exclude(status=WaitlistEntry.Status.CLAIMED)
        .first()
    )
    if entry is not None:
        entry.status = WaitlistEntry.Status.CLAIMED
        entry.save(update_fields=["status", "updated_at"])
        audit_booking(Kind.WAITLIST_CLAIMED, booking, actor=booking.user, entry=entry.pk)


def offer_waiting_lists() -> list[WaitlistEntry]:
    """Offer the free seats of every list someone waits on for a show still selling (the
    sweeper's pass); returns the entries offered some."""
    now = timezone.now()
    lists = (
        Waitlist.objects.filter(
            paused=False,
            showtime__starts_at__gt=now,
            entries__status=WaitlistEntry.Status.WAITING,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    return [entry for pk in lists for entry in offer_freed_seats(showtime_id=pk)]


def staff_changed_hall(*, sender, instance: Auditorium, **_signal) -> None:
    """Seats staff added to the hall (a new one, one unblocked) are offered to the lists of its
    showtimes to come once saved (connected to Auditorium's post_save)."""
    waiting = (
        Waitlist.objects.filter(
            showtime__auditorium=instance,
            showtime__starts_at__gt=timezone.now(),
            entries__status=WaitlistEntry.Status.WAITING,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    for pk in waiting:
        offer_on_commit(showtime_id=pk)


def staff_changed_showtime(*, sender, instance: Showtime, created: bool, **_signal) -> None:
    """A showtime put back on sale, or its on-sale time brought forward, offers its free seats
    once saved (connected to Showtime's post_save)."""
    if not created:
        offer_on_commit(showtime_id=instance.pk)
