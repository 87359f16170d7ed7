"""Reads that need bookings: sold seats and holds behind every seat map, a user's bookings and
places on waiting lists, the holds live right now."""

from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import Booking, Refund, Ticket, Transfer, WaitlistEntry
from cinema.models import Showtime
from cinema.plans import Plan, get_plan
from seats import holds


def booked_labels(*, showtime: Showtime, plan: Plan) -> set[str]:
    """Labels of the seats sold for the showtime (one query)."""
    seat_ids = Ticket.objects.filter(showtime=showtime).values_list("seat_id", flat=True)
    return {plan.seats_by_id[seat_id].label for seat_id in seat_ids}


class BookingSales:
    """Who bought what, for the seat map: `bookings.Ticket` meets `seats` here (SEAT_SALES)."""

    def booked_labels(self, *, showtime: Showtime, plan: Plan) -> set[str]:
        return booked_labels(showtime=showtime, plan=plan)


@dataclass(frozen=True)
class Account:
    verified: bool  # someone vouched for the email address
    pending: list[Booking]  # every booking waiting for payment, across showtimes


def lock_account(*, user) -> Account:
    """Lock the user's row until the transaction ends, then read whether their email address is
    confirmed and their PENDING bookings: two queries.

    Holds of one account take turns on the row, so together they never pass its limits. The
    bookings are read by a statement of their own, once the lock is held: under READ COMMITTED a
    statement sees what committed before it began, so each hold counts the bookings of those
    that held the lock before it. (Read in the locking statement itself, they were not: a
    statement that waited for a lock reads again only the row it locked.) The ORM cannot read
    one table of an outer join with the other, hence the SQL.
    """
    users = get_user_model()
    list(users.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    quote = connection.ops.quote_name
    # Only table and column names from the models go into the text, quoted; values are parameters.
    rows = Booking.objects.raw(
        f"SELECT b.*, EXISTS (SELECT 1 FROM {quote(EmailAddress._meta.db_table)} e "  # noqa: S608
        f"WHERE e.user_id = u.{quote(users._meta.pk.column)} AND e.verified) AS email_verified "
        f"FROM {quote(users._meta.db_table)} u LEFT JOIN {quote(Booking._meta.db_table)} b "
        f"ON b.user_id = u.{quote(users._meta.pk.column)} AND b.status = %s "
        f"WHERE u.{quote(users._meta.pk.column)} = %s",
        [Booking.Status.PENDING, user.pk],
    )
    rows = list(rows)
    return Account(
        verified=any(bool(row.email_verified) for row in rows),
        pending=[row for row in rows if row.pk is not None],
    )


def open_booking(*, user, showtime: Showtime) -> Booking | None:
    """The user's booking waiting for payment on the showtime, if any (one query)."""
    return Booking.objects.filter(
        user=user, showtime=showtime, status=Booking.Status.PENDING
    ).first()


@dataclass(frozen=True)
class MyBookings:
    upcoming: list[Booking]  # paid, or held and still payable; soonest showtime first
    ended: list[Booking]  # upcoming shows' holds not paid and cancelled bookings; newest first
    past: list[Booking]  # latest showtime first

    def __bool__(self) -> bool:
        return bool(self.upcoming or self.ended or self.past)


# What a customer calls each ending: a refund is not an abandoned hold.
_OUTCOMES = {
    Booking.Status.PENDING: ("pending", "Waiting for payment"),
    Booking.Status.CONFIRMED: ("confirmed", "Confirmed"),
    Booking.Status.EXPIRED: ("expired", "Hold expired, not paid"),
    Booking.Status.EXCHANGED: ("exchanged", "Exchanged for another booking"),
}


def _outcome(booking: Booking, *, now: datetime) -> tuple[str, str]:
    if booking.status == Booking.Status.CANCELLED:
        if booking.refunded:
            return "refunded", "Cancelled and refunded"
        return "cancelled", "Released, not paid"
    lapsed = booking.expires_at is not None and booking.expires_at <= now
    if booking.status == Booking.Status.PENDING and lapsed:
        # Run out, and the sweeper has not been by yet: it is no longer payable.
        return _OUTCOMES[Booking.Status.EXPIRED]
    return _OUTCOMES[booking.status]


def user_bookings(*, user) -> MyBookings:
    """The user's bookings, each with `outcome` and `outcome_label` (refunded, released or
    expired told apart): upcoming ones that stand (paid, or held and still payable) apart from
    the ones that ended unpaid or cancelled; one query."""
    bookings = (
        Booking.objects.filter(user=user)
        .select_related("showtime__movie", "showtime__auditorium")
        .annotate(refunded=Exists(Refund.objects.filter(payment__booking=OuterRef("pk"))))
        .order_by("showtime__starts_at", "-created_at")
    )
    now = timezone.now()
    upcoming, ended, past = [], [], []
    for booking in bookings:
        booking.outcome, booking.outcome_label = _outcome(booking, now=now)
        if booking.showtime.starts_at < now:
            past.append(booking)
        elif booking.outcome in {"confirmed", "pending"}:
            upcoming.append(booking)
        else:
            ended.append(booking)
    ended.sort(key=lambda booking: booking.created_at, reverse=True)
    return MyBookings(upcoming=upcoming, ended=ended, past=past[::-1])


def received_transfers(*, user) -> list[Transfer]:
    """Tickets passed on to the account that it claimed, for showtimes still to come, soonest
    first (one query)."""
    return list(
        Transfer.objects.filter(
            receiver=user,
            status=Transfer.Status.CLAIMED,
            booking__showtime__starts_at__gt=timezone.now(),
        )
        .select_related("booking__showtime__movie", "booking__showtime__auditorium")
        .order_by("booking__showtime__starts_at")
    )


def _with_places(entries: list[WaitlistEntry]) -> list[WaitlistEntry]:
    """Each entry with `place`: 1 + the entries of its list still waiting that joined before it
    (one query per entry waiting; an account waits on a handful at most)."""
    for entry in entries:
        entry.place = (
            WaitlistEntry.objects.filter(
                waitlist_id=entry.waitlist_id,
                status=WaitlistEntry.Status.WAITING,
                pk__lt=entry.pk,
            ).count()
            + 1
            if entry.status == WaitlistEntry.Status.WAITING
            else None
        )
    return entries


def waitlist_entry(*, user, showtime: Showtime) -> WaitlistEntry | None:
    """The account's place on the showtime's waiting list (waiting or offered seats), with
    `place` and its offer's booking; None for a visitor or an account not on it."""
    if not getattr(user, "is_authenticated", False):
        return None
    entry = (
        WaitlistEntry.objects.filter(
            waitlist_id=showtime.pk, user=user, status__in=WaitlistEntry.ACTIVE
        )
        .select_related("booking")
        .first()
    )
    return _with_places([entry])[0] if entry else None


def waitlist_entries(*, user) -> list[WaitlistEntry]:
    """The account's places on the waiting lists of showtimes still to come, soonest first."""
    entries = (
        WaitlistEntry.objects.filter(
            user=user,
            status__in=WaitlistEntry.ACTIVE,
            waitlist__showtime__starts_at__gt=timezone.now(),
        )
        .select_related("booking", "waitlist__showtime__movie", "waitlist__showtime__auditorium")
        .order_by("waitlist__showtime__starts_at")
    )
    return _with_places(list(entries))


@dataclass(frozen=True)
class LiveHold:
    token: str
    seats: list[str]
    expires_at: datetime | None
    booking: Booking | None

    @property
    def seconds_left(self) -> int | None:
        if self.expires_at is None:
            return None
        return max(0, int((self.expires_at - timezone.now()).total_seconds()))


def current_holds(showtime: Showtime) -> list[LiveHold]:
    """The holds in Redis right now, one per token, with their booking when there is one."""
    plan = get_plan(showtime.auditorium)
    seats: dict[str, list[str]] = {}
    expiry: dict[str, datetime | None] = {}
    for label, (token, expires_at) in holds.live(
        showtime_id=showtime.pk, labels=list(plan.seats_by_label)
    ).items():
        seats.setdefault(token, []).append(label)
        expiry[token] = max(filter(None, [expiry.get(token), expires_at]), default=None)
    bookings = {
        booking.hold_token: booking
        for booking in Booking.objects.filter(showtime=showtime, hold_token__in=list(seats))
        .select_related("user")
        .order_by("created_at")
    }
    found = [
        LiveHold(token=token, seats=labels, expires_at=expiry[token], booking=bookings.get(token))
        for token, labels in seats.items()
    ]
    return sorted(found, key=lambda hold: (hold.expires_at is None, hold.expires_at))
