"""Reports over a period for the back office: revenue by day, week or month, per film, per
ticket type, vouchers, refunds, and attendance at the door.

Selectors only, each one to three grouped queries in the database whatever the number of sales,
so the work of a request is bounded by the period (at most MAX_DAYS), not by the rows in it.
Days, weeks (Monday to Sunday) and months are the cinema's local time (TIME_ZONE).

What counts where, as the page says it to staff:
- Money taken is a payment the gateway confirmed, on the day it did (a succeeded payment is never
  changed again, so its last change is that moment). Refunds count on the day they were
  recorded, whether the gateway has sent them yet or not (`owed`). Net revenue is taken minus
  refunded: a refund comes off the period it was given in, not the one of the sale.
- Ticket types and vouchers count tickets sold in the period and still valid (a refund deletes
  its ticket), at what was paid for them.
- Attendance counts the tickets of the showtimes that start in the period; a ticket of a showtime
  that has ended and was never scanned at the door is a no-show.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from bookings.models import Payment, Refund, Ticket

ZERO = Decimal("0.00")
PENNY = Decimal("0.01")
DAY = timedelta(days=1)
# The longest period one report covers: a year, a leap year's too.
MAX_DAYS = 366
GROUPINGS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    """From the first day to the last, both included, grouped by day, week or month."""

    first: date
    last: date
    group: str = "day"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def ends_at(self) -> datetime:
        """The midnight after the last day."""
        return datetime.combine(self.last + DAY, time.min, tzinfo=timezone.get_current_timezone())

    def bucket_of(self, day: date) -> date:
        """The first day of the day's week or month (the day itself when grouped by day)."""
        if self.group == "week":
            return day - timedelta(days=day.weekday())
        if self.group == "month":
            return day.replace(day=1)
        return day

    def buckets(self) -> list[tuple[date, date]]:
        """Every day, week or month of the period, as its first and last day inside it."""
        spans, start = [], self.first
        while start <= self.last:
            bucket = self.bucket_of(start)
            if self.group == "week":
                after = bucket + 7 * DAY
            elif self.group == "month":
                after = (bucket + 31 * DAY).replace(day=1)
            else:
                after = bucket + DAY
            end = min(after - DAY, self.last)
            spans.append((start, end))
            start = end + DAY
        return spans


def _within(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.starts_at, f"{field}__lt": period.ends_at})


def _bucket(period: Period, field: str) -> Trunc:
    """The local day, week or month of a moment, as its first day, worked out by the database."""
    return Trunc(field, period.group, output_field=DateField())


def _money(field: str, **extra) -> Coalesce:
    return Coalesce(Sum(field, **extra), ZERO)


def _pennies(amount: Decimal) -> Decimal:
    """A sum as the database gave it, to the penny (SQLite sums decimals as floats)."""
    return amount.quantize(PENNY)


def _paid(period: Period):
    return Payment.objects.filter(
        _within(period, "updated_at"), status=Payment.Status.SUCCEEDED
    ).order_by()


def _refunds(period: Period):
    return Refund.objects.filter(_within(period, "created_at")).order_by()


def _tickets_sold(period: Period):
    return Ticket.objects.filter(_within(period, "sold_at")).order_by()


@dataclass(frozen=True)
class RevenueLine:
    first: date
    last: date
    payments: int
    taken: Decimal
    refunds: int
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.taken - self.refunded


@dataclass(frozen=True)
class Revenue:
    lines: list[RevenueLine]

    @property
    def payments(self) -> int:
        return sum(line.payments for line in self.lines)

    @property
    def taken(self) -> Decimal:
        return sum((line.taken for line in self.lines), ZERO)

    @property
    def refunds(self) -> int:
        return sum(line.refunds for line in self.lines)

    @property
    def refunded(self) -> Decimal:
        return sum((line.refunded for line in self.lines), ZERO)

    @property
    def net(self) -> Decimal:
        return self.taken - self.refunded


def get_revenue(*, period: Period) -> Revenue:
    """Money taken and refunded in each day, week or month of the period (two queries)."""
    paid = {
        row["bucket"]: row
        for row in _paid(period)
        .annotate(bucket=_bucket(period, "updated_at"))
        .values("bucket")
        .annotate(count=Count("pk"), total=_money("amount"))
    }
    refunded = {
        row["bucket"]: row
        for row in _refunds(period)
        .annotate(bucket=_bucket(period, "created_at"))
        .values("bucket")
        .annotate(count=Count("pk"), total=_money("amount"))
    }
    nothing = {"count": 0, "total": ZERO}
    lines = []
    for first, last in period.buckets():
        key = period.bucket_of(first)
        taken, given = paid.get(key, nothing), refunded.get(key, nothing)
        lines.append(
            RevenueLine(
                first=first,
                last=last,
                payments=taken["count"],
                taken=_pennies(taken["total"]),
                refunds=given["count"],
                refunded=_pennies(given["total"]),
            )
        )
    return Revenue(lines=lines)


@dataclass(frozen=True)
class FilmLine:
    title: str
    tickets: int
    taken: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.taken - self.refunded


def get_films(*, period: Period) -> list[FilmLine]:
    """Per film: tickets sold and still valid, money taken and refunded in the period (three
    queries); the best earning first."""
    films: dict[int, dict] = {}

    def film(pk: int, title: str) -> dict:
        return films.setdefault(pk, {"title": title, "tickets": 0, "taken": ZERO, "refunded": ZERO})

    movie = "booking__showtime__movie"
    for row in _paid(period).values(movie, f"{movie}__title").annotate(total=_money("amount")):
        film(row[movie], row[f"{movie}__title"])["taken"] = _pennies(row["total"])
    movie = "payment__booking__showtime__movie"
    for row in _refunds(period).values(movie, f"{movie}__title").annotate(total=_money("amount")):
        film(row[movie], row[f"{movie}__title"])["refunded"] = _pennies(row["total"])
    movie = "showtime__movie"
    for row in _tickets_sold(period).values(movie, f"{movie}__title").annotate(count=Count("pk")):
        film(row[movie], row[f"{movie}__title"])["tickets"] = row["count"]
    lines = [FilmLine(**figures) for figures in films.values()]
    return sorted(lines, key=lambda line: (-line.net, line.title))


@dataclass(frozen=True)
class TicketTypeLine:
    name: str
    tickets: int
    paid: Decimal
    discount: Decimal


def get_ticket_types(*, period: Period) -> list[TicketTypeLine]:
    """Tickets sold in the period and still valid, per ticket type (one query)."""
    rows = (
        _tickets_sold(period)
        .values("ticket_type__name", "ticket_type__position")
        .annotate(count=Count("pk"), paid=_money("price"), discount=_money("discount"))
        .order_by("ticket_type__position", "ticket_type__name")
    )
    return [
        TicketTypeLine(
            name=row["ticket_type__name"] or "No type",
            tickets=row["count"],
            paid=_pennies(row["paid"]),
            discount=_pennies(row["discount"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class VoucherLine:
    code: str
    bookings: int
    tickets: int
    discount: Decimal
    paid: Decimal


def get_vouchers(*, period: Period) -> list[VoucherLine]:
    """Per voucher code used on tickets sold in the period (still valid): bookings, tickets,
    what it took off and what was paid (one query)."""
    rows = (
        _tickets_sold(period)
        .filter(booking__voucher__isnull=False)
        .values("booking__voucher__code")
        .annotate(
            bookings=Count("booking", distinct=True),
            count=Count("pk"),
            discount=_money("discount"),
            paid=_money("price"),
        )
        .order_by("booking__voucher__code")
    )
    return [
        VoucherLine(
            code=row["booking__voucher__code"],
            bookings=row["bookings"],
            tickets=row["count"],
            discount=_pennies(row["discount"]),
            paid=_pennies(row["paid"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class RefundLine:
    reason: str
    refunds: int
    amount: Decimal
    owed: Decimal  # recorded, the gateway has not sent it yet


def get_refunds(*, period: Period) -> list[RefundLine]:
    """Refunds recorded in the period, per reason, the largest first (one query)."""
    rows = (
        _refunds(period)
        .values("reason")
        .annotate(
            count=Count("pk"),
            total=_money("amount"),
            owing=_money("amount", filter=Q(status=Refund.Status.REQUESTED)),
        )
        .order_by("-total", "reason")
    )
    return [
        RefundLine(
            reason=row["reason"],
            refunds=row["count"],
            amount=_pennies(row["total"]),
            owed=_pennies(row["owing"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class AttendanceLine:
    first: date
    last: date
    tickets: int
    checked_in: int
    no_shows: int
    to_come: int  # tickets of showtimes that have not ended yet, not scanned (yet)

    @property
    def percent(self) -> int | None:
        """Of the tickets of ended showtimes, how many came in."""
        ended = self.tickets - self.to_come
        return round(100 * (ended - self.no_shows) / ended) if ended else None


def get_attendance(*, period: Period) -> list[AttendanceLine]:
    """Per day, week or month of the showtimes' start: tickets, check-ins at the door and
    no-shows (one query)."""
    ended = Q(showtime__ends_at__lte=timezone.now())
    unscanned = Q(check_in__isnull=True)
    rows = {
        row["bucket"]: row
        for row in Ticket.objects.filter(_within(period, "showtime__starts_at"))
        .order_by()
        .annotate(bucket=_bucket(period, "showtime__starts_at"))
        .values("bucket")
        .annotate(
            count=Count("pk"),
            checked_in=Count("check_in"),
            no_shows=Count("pk", filter=ended & unscanned),
            to_come=Count("pk", filter=~ended & unscanned),
        )
    }
    lines = []
    for first, last in period.buckets():
        row = rows.get(period.bucket_of(first), {})
        lines.append(
            AttendanceLine(
                first=first,
                last=last,
                tickets=row.get("count", 0),
                checked_in=row.get("checked_in", 0),
                no_shows=row.get("no_shows", 0),
                to_come=row.get("to_come", 0),
            )
        )
    return lines
