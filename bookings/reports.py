"""Sales reports for the back office: what a showtime sold, how full a day's showtimes are, and
how an on-sale through the waiting room is going.

Selectors only: each returns plain dataclasses built from a fixed handful of queries, so the
pages cost the same whether a showtime sold two tickets or five hundred. Tickets are the sales:
a refund deletes its ticket, so every row still there was paid for.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from redis.exceptions import RedisError

from bookings.models import Ticket
from cinema.models import Seat, Showtime
from infra.charts import ChartTick, Frame
from waitingroom import queue
from waitingroom import services as room
from waitingroom.models import WaitingRoom

ZERO = Decimal("0.00")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Sales spread over more than this are counted per day rather than per hour.
HOURLY_UP_TO = timedelta(hours=48)

# Occupancy bands on the day page: a showtime this full is busy, or as good as sold out.
BUSY = 0.5
FULL = 0.9


@dataclass(frozen=True)
class SalesLine:
    """One row of a breakdown: a seat category or a ticket type."""

    label: str
    sold: int
    revenue: Decimal


@dataclass(frozen=True)
class SalesBucket:
    """The tickets sold in one hour or day (local time), and all sold up to its end."""

    starts_at: datetime
    sold: int
    total: int


@dataclass(frozen=True)
class SalesChart:
    """A step line of cumulative sales, already in SVG coordinates."""

    frame: Frame
    path: str
    capacity_y: float
    ticks: list[ChartTick]
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class ShowtimeSales:
    showtime: Showtime
    capacity: int
    sold: int
    revenue: Decimal
    by_category: list[SalesLine]
    by_ticket_type: list[SalesLine]
    bucket: str  # "hour" or "day"
    buckets: list[SalesBucket]
    chart: SalesChart | None

    @property
    def percent(self) -> int:
        return round(_share(self.sold, self.capacity) * 100)


@dataclass(frozen=True)
class ShowtimeOccupancy:
    showtime: Showtime
    sold: int
    capacity: int
    revenue: Decimal

    @property
    def occupancy(self) -> float:
        return _share(self.sold, self.capacity)

    @property
    def percent(self) -> int:
        return round(self.occupancy * 100)

    @property
    def bar_width(self) -> float:
        """The filled part of a bar 100 units wide."""
        return round(self.occupancy * 100, 1)

    @property
    def band(self) -> str:
        """How full, for the bar's colour: the numbers beside it say it in words."""
        if self.occupancy >= FULL:
            return "full"
        return "busy" if self.occupancy >= BUSY else "quiet"


@dataclass(frozen=True)
class DayOccupancy:
    day: date
    showtimes: list[ShowtimeOccupancy]
    previous_day: date
    next_day: date

    @property
    def sold(self) -> int:
        return sum(row.sold for row in self.showtimes)

    @property
    def capacity(self) -> int:
        return sum(row.capacity for row in self.showtimes)

    @property
    def revenue(self) -> Decimal:
        return sum((row.revenue for row in self.showtimes), ZERO)


def _share(part: int, whole: int) -> float:
    return min(part / whole, 1.0) if whole else 0.0


def _sellable_seats() -> Coalesce:
    """How many seats of the outer showtime's auditorium may be sold at all."""
    seats = (
        Seat.objects.filter(auditorium=OuterRef("auditorium"), blocked=False)
        .order_by()
        .values("auditorium")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(seats, output_field=IntegerField()), Value(0))


def get_showtime_sales(*, showtime_id: int) -> ShowtimeSales:
    """Sales of one showtime; raises Showtime.DoesNotExist for an unknown one."""
    showtime = (
        Showtime.objects.select_related("movie", "auditorium")
        .annotate(capacity=_sellable_seats())
        .get(pk=showtime_id)
    )
    tickets = Ticket.objects.filter(showtime=showtime).order_by()
    totals = {"sold": Count("pk"), "revenue": Coalesce(Sum("price"), ZERO)}
    by_category = sorted(
        tickets.values("category").annotate(**totals), key=lambda row: _kind_order(row["category"])
    )
    by_type = (
        tickets.values("ticket_type__name")
        .annotate(**totals)
        .order_by("ticket_type__position", "ticket_type__name")
    )
    sold_at = list(tickets.order_by("sold_at").values_list("sold_at", flat=True))

    until = min(timezone.now(), showtime.starts_at)
    bucket, buckets = _bucket_sales(sold_at, until=until)
    kinds = dict(Seat.Kind.choices)
    category_lines = [
        SalesLine(
            label=kinds.get(row["category"], row["category"]),
            sold=row["sold"],
            revenue=row["revenue"],
        )
        for row in by_category
    ]
    return ShowtimeSales(
        showtime=showtime,
        capacity=showtime.capacity,
        sold=sum(line.sold for line in category_lines),
        revenue=sum((line.revenue for line in category_lines), ZERO),
        by_category=category_lines,
        by_ticket_type=[
            SalesLine(
                label=row["ticket_type__name"] or "No type",
                sold=row["sold"],
                revenue=row["revenue"],
            )
            for row in by_type
        ],
        bucket=bucket,
        buckets=buckets,
        chart=_sales_chart(
            buckets, step=HOUR if bucket == "hour" else DAY, until=until, capacity=showtime.capacity
        ),
    )


def _kind_order(category: str) -> int:
    """Categories in the order Seat.Kind lists them, any unknown one last."""
    kinds = list(Seat.Kind.values)
    return kinds.index(category) if category in kinds else len(kinds)


def _bucket_start(moment: datetime, bucket: str) -> datetime:
    local = timezone.localtime(moment)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _bucket_sales(sold_at: list[datetime], *, until: datetime) -> tuple[str, list[SalesBucket]]:
    """Sales per local hour (or per day when they spread wider), only the buckets with any."""
    if not sold_at:
        return "hour", []
    bucket = "hour" if max(until, sold_at[-1]) - sold_at[0] <= HOURLY_UP_TO else "day"
    counts: dict[datetime, int] = {}
    for moment in sold_at:
        start = _bucket_start(moment, bucket)
        counts[start] = counts.get(start, 0) + 1
    buckets, total = [], 0
    for start, sold in counts.items():
        total += sold
        buckets.append(SalesBucket(starts_at=start, sold=sold, total=total))
    return bucket, buckets


def _sales_chart(
    buckets: list[SalesBucket], *, step: timedelta, until: datetime, capacity: int
) -> SalesChart | None:
    """Cumulative sales drawn as steps: the line rises at each bucket's start by what it sold."""
    if not buckets:
        return None
    starts_at = buckets[0].starts_at
    ends_at = max(until, buckets[-1].starts_at + step)
    span = (ends_at - starts_at).total_seconds()
    top = max(capacity, buckets[-1].total, 1)
    frame = Frame(high=top)

    def x(moment: datetime) -> float:
        return frame.x((moment - starts_at).total_seconds() / span)

    path = [f"M{frame.plot_left:.1f},{frame.plot_bottom:.1f}"]
    for bucket in buckets:
        path.append(f"H{x(bucket.starts_at):.1f}V{frame.y(bucket.total):.1f}")
    path.append(f"H{frame.plot_right:.1f}")
    return SalesChart(
        frame=frame,
        path="".join(path),
        capacity_y=round(frame.y(capacity), 1),
        ticks=frame.ticks(sorted({0, top // 2, top})),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def get_day_occupancy(*, day: date) -> DayOccupancy:
    """Every showtime starting on `day` (local time), with its tickets sold and capacity."""
    zone = timezone.get_current_timezone()
    starts = datetime.combine(day, time.min, tzinfo=zone)
    ends = datetime.combine(day + DAY, time.min, tzinfo=zone)
    showtimes = (
        Showtime.objects.filter(starts_at__gte=starts, starts_at__lt=ends)
        .select_related("movie", "auditorium")
        .annotate(
            sold=Count("tickets"),
            revenue=Coalesce(Sum("tickets__price"), ZERO),
            capacity=_sellable_seats(),
        )
        .order_by("starts_at", "auditorium__name")
    )
    return DayOccupancy(
        day=day,
        showtimes=[
            ShowtimeOccupancy(
                showtime=showtime,
                sold=showtime.sold,
                capacity=showtime.capacity,
                revenue=showtime.revenue,
            )
            for showtime in showtimes
        ],
        previous_day=day - DAY,
        next_day=day + DAY,
    )


# Sales per minute are measured over this much of the latest sales.
SALES_PACE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class RoomFigures:
    """A waiting room at a glance, for the staff page that steers it during an on-sale."""

    showtime: Showtime
    room: WaitingRoom
    capacity: int
    sold: int
    sold_per_minute: float  # over the last five minutes (or since on-sale, if later)
    queued: int | None  # None: Redis did not answer
    active: int | None
    admitted_per_minute: float | None  # over the last minute; None before anyone was let in

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.sold)

    @property
    def minutes_to_sell_out(self) -> float | None:
        if not self.left:
            return 0.0
        return self.left / self.sold_per_minute if self.sold_per_minute else None


def get_room_figures(*, showtime_id: int) -> RoomFigures:
    """The room's queue, shoppers and pace, and the showtime's sales and their pace (two
    queries and two Redis round trips); raises Showtime.DoesNotExist for an unknown one."""
    showtime = (
        Showtime.objects.select_related("movie", "auditorium", "room")
        .annotate(capacity=_sellable_seats())
        .get(pk=showtime_id)
    )
    now = timezone.now()
    since = max(filter(None, [now - SALES_PACE_WINDOW, showtime.on_sale_at]))
    tickets = Ticket.objects.filter(showtime=showtime).order_by()
    counts = tickets.aggregate(sold=Count("pk"), recent=Count("pk", filter=Q(sold_at__gte=since)))
    minutes = max((now - since).total_seconds() / 60, 1 / 60)
    queued = active = admitted_per_minute = None
    with suppress(RedisError):
        queued, active = queue.sizes(showtime_id=showtime.pk)
        admitted_per_minute = room.pace(showtime)
    return RoomFigures(
        showtime=showtime,
        room=WaitingRoom.of(showtime),
        capacity=showtime.capacity,
        sold=counts["sold"],
        sold_per_minute=counts["recent"] / minutes if since < now else 0.0,
        queued=queued,
        active=active,
        admitted_per_minute=admitted_per_minute,
    )
