"""Writes to the catalogue. Admin and `seed_demo` both go through these."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from cinema.layout import LayoutError, parse_layout
from cinema.models import Auditorium, Movie, Seat, Showtime


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
    price: Decimal,
    showtime: Showtime | None = None,
) -> Showtime:
    """Create or move a showtime; refuses one that overlaps another in the same auditorium."""
    # Serialise scheduling per auditorium so two staff cannot book the same slot at once.
    Auditorium.objects.select_for_update().filter(pk=auditorium.pk).first()
    showtime = showtime or Showtime()
    showtime.movie = movie
    showtime.auditorium = auditorium
    showtime.starts_at = starts_at
    showtime.price = price
    showtime.full_clean(exclude=["ends_at"])
    showtime.save()
    return showtime
