"""Wheelchair spaces kept back: once a showtime's release time has come, its spaces and
companion seats go on general sale, and the seat map's viewers are told (the sweeper's job);
when staff move that time later again, they are kept back again and told at once."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.services import seat_changes
from cinema.access import release_time, wheelchair_seats
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


def staff_changed_showtime(*, sender, instance: Showtime, created: bool, **_signal) -> None:
    """Spaces already on general sale whose release time is later now (staff moved it, or the
    start): they are kept back again, their viewers told at once, and told again when the new
    time comes (connected to Showtime's post_save). Held or sold ones stay their buyers'."""
    if created or not instance.wheelchair_release_told:
        return
    if timezone.now() >= release_time(instance):
        return
    with transaction.atomic():
        told = Showtime.objects.filter(pk=instance.pk, wheelchair_release_told=True)
        instance.wheelchair_release_told = False
        if not told.update(wheelchair_release_told=False):
            return  # another save said it first
        labels = sorted(wheelchair_seats(get_plan(instance.auditorium)))
        if labels:
            seat_changes.wheelchair_places_kept(showtime=instance, labels=labels)
