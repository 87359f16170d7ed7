"""Writes to the catalogue. Admin and `seed_demo` both go through these."""

import secrets
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet

from audit.services import Kind, record
from cinema.layout import LayoutError, parse_layout
from cinema.models import (
    Auditorium,
    Movie,
    PriceList,
    Seat,
    Showtime,
    TicketPrice,
    TicketType,
    Voucher,
)


@transaction.atomic
def save_auditorium(*, auditorium: Auditorium) -> Auditorium:
    """Save the auditorium and make its Seat rows match its layout exactly, or change nothing."""
    try:
        layout = parse_layout(auditorium.layout)
    except LayoutError as error:
        raise ValidationError({"layout": str(error)}) from error
    auditorium.save()
    existing = {seat.label: seat for seat in auditorium.seats.all()}
    wanted = {spec.label: spec for spec in layout.seats}
    fields = ["row", "number", "x", "y", "kind", "blocked"]
    to_create, to_update = [], []
    for label, spec in wanted.items():
        values = {field: getattr(spec, field) for field in fields}
        seat = existing.get(label)
        if seat is None:
            to_create.append(Seat(auditorium=auditorium, label=label, **values))
        elif any(getattr(seat, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(seat, field, value)
            to_update.append(seat)
    Seat.objects.bulk_create(to_create)
    Seat.objects.bulk_update(to_update, fields)
    removed = sorted(set(existing) - set(wanted))
    if removed:
        try:
            auditorium.seats.filter(label__in=removed).delete()
        except ProtectedError as error:
            sold = sorted({str(obj.seat.label) for obj in error.protected_objects})
            raise ValidationError(
                {
                    "layout": f"Seats {', '.join(sold)} have tickets and cannot be removed; "
                    "mark them x (blocked) instead."
                }
            ) from error
    return auditorium


@transaction.atomic
def schedule_showtime(
    *,
    movie: Movie,
    auditorium: Auditorium,
    starts_at: datetime,
    price_list: PriceList,
    showtime: Showtime | None = None,
) -> Showtime:
    """Create or move a showtime; refuses one that overlaps another in the same auditorium."""
    # Serialise scheduling per auditorium so two staff cannot book the same slot at once.
    Auditorium.objects.select_for_update().filter(pk=auditorium.pk).first()
    if showtime is None:
        showtime = Showtime()  # a high-demand film's starts with its waiting room on (waitingroom)
    showtime.movie = movie
    showtime.auditorium = auditorium
    showtime.starts_at = starts_at
    showtime.price_list = price_list
    showtime.full_clean(exclude=["ends_at"])
    showtime.save()
    return showtime


# What a showtime's screening kinds are made of (issue 35), settable together in bulk.
SCREENING_KIND_FIELDS = (
    "audio_language",
    "subtitle_language",
    "open_captions",
    "audio_described",
    "relaxed",
    "parent_and_baby",
    "seniors",
    "access_notes",
)


@transaction.atomic
def set_screening_kinds(*, showtimes: QuerySet[Showtime], kinds: dict, actor) -> int:
    """Every one of these showtimes gets the `kinds` given (SCREENING_KIND_FIELDS; the others
    stay as they are); each one that changes is audited (SHOWTIME_CHANGED) with what it was.
    Returns how many changed."""
    unknown = set(kinds) - set(SCREENING_KIND_FIELDS)
    if unknown:
        raise ValueError(f"Not a screening kind: {', '.join(sorted(unknown))}")
    changed = []
    for showtime in showtimes.select_for_update().order_by("pk"):
        fields = [name for name, value in kinds.items() if getattr(showtime, name) != value]
        if not fields:
            continue
        changed.append(showtime.pk)
        record(
            Kind.SHOWTIME_CHANGED,
            actor=actor,
            showtime_id=showtime.pk,
            detail={
                "changed": fields,
                **{name: kinds[name] for name in fields},
                "was": {name: getattr(showtime, name) for name in fields},
            },
        )
    Showtime.objects.filter(pk__in=changed).update(**kinds)
    return len(changed)


def one_price_list(price: Decimal) -> PriceList:
    """A list selling only the default ticket type at `price` ("Standard 10.00"), made if
    missing: for a cinema with one price, for tests and benchmarks."""
    default = TicketType.objects.filter(is_default=True).first()
    if default is None:
        default, _ = TicketType.objects.get_or_create(name="Adult")
        default.is_default = True
        default.save(update_fields=["is_default"])
    price_list, _ = PriceList.objects.get_or_create(name=f"Standard {price:.2f}")
    TicketPrice.objects.get_or_create(
        price_list=price_list, ticket_type=default, defaults={"price": price}
    )
    return price_list


# Crockford's base32 without I, L, O, U: codes are read out and typed from paper.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 40 bits: not guessable by trying, short enough to type
MAX_BATCH = 1000


@transaction.atomic
def issue_vouchers(
    *,
    template: Voucher,
    ticket_types=(),
    showtimes=(),
    count: int,
    prefix: str,
    actor,
) -> list[Voucher]:
    """`count` vouchers like the unsaved `template` (its kind, value, dates, uses and batch)
    and for those ticket types and showtimes (none: all), each with its own random code
    "PREFIX-XXXXXXXX"; audited once for the batch."""
    if not 1 <= count <= MAX_BATCH:
        raise ValidationError({"count": f"Make between 1 and {MAX_BATCH} codes at a time."})
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {_new_code(prefix) for _ in range(count - len(codes))}
        codes |= fresh - set(Voucher.objects.filter(code__in=fresh).values_list("code", flat=True))
    fields = {
        name: getattr(template, name)
        for name in ("kind", "value", "valid_from", "valid_until", "max_uses", "batch")
    }
    vouchers = Voucher.objects.bulk_create(Voucher(code=code, **fields) for code in sorted(codes))
    types, shows = Voucher.ticket_types.through, Voucher.showtimes.through
    types.objects.bulk_create(
        types(voucher_id=voucher.pk, tickettype_id=kind.pk)
        for voucher in vouchers
        for kind in ticket_types
    )
    shows.objects.bulk_create(
        shows(voucher_id=voucher.pk, showtime_id=showtime.pk)
        for voucher in vouchers
        for showtime in showtimes
    )
    record(
        Kind.VOUCHERS_ISSUED,
        actor=actor,
        detail={"batch": template.batch, "count": count, "offer": template.label},
    )
    return vouchers


def _new_code(prefix: str) -> str:
    return f"{prefix}-{''.join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))}"
