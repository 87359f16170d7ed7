"""Wheelchair spaces kept back: once a showtime's release time has come, its spaces and
companion seats go on general sale, and the seat map's viewers are told (the sweeper's job)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.services import seat_changes
from cinema.access import wheelchair_seats
from cinema.models import Showtime
from cinema.plans import get_plan


def release_wheelchair_places(*, now: datetime | None = None) -> list[Showtime]:
    """Tell, once per showtime, that the spaces of every showtime past its release time (and not
    started) are on general sale; returns those showtimes. Safe in many processes."""
    now = now or timezone.now()
    default = timedelta(hours=settings.WHEELCHAIR_RELEASE_HOURS)
    due = (
        Showtime.objects.filter(wheelchair_release_told=False, starts_at__gt=now)
        .annotate(release=Coalesce("wheelchair_release_at", F("starts_at") - default))
        .filter(release__lte=now)
        .values_list("pk", flat=True)
    )
    released = []
    for pk in due:
        with transaction.atomic():
            showtime = (
                Showtime.objects.select_for_update(of=("self",))
                .select_related("auditorium")
                .get(pk=pk)
            )
            if showtime.wheelchair_release_told:
                continue
            showtime.wheelchair_release_told = True
            showtime.save(update_fields=["wheelchair_release_told"])
            labels = sorted(wheelchair_seats(get_plan(showtime.auditorium)))
            if labels:
                seat_changes.wheelchair_places_released(showtime=showtime, labels=labels)
        released.append(showtime)
    return released
