"""The sweeper: expire PENDING bookings whose hold timed out or vanished, and free their seats;
announce the holds that ended by themselves to the seat map's viewers; put wheelchair spaces on
general sale at their release time; offer the free seats of sold-out showtimes to their waiting
lists; send the refunds a crash left owed."""

import logging

from django.core.management.base import BaseCommand

from audit.workers import run_passes
from bookings.services import (
    announce_lapsed_holds,
    expire_stale_bookings,
    offer_waiting_lists,
    release_wheelchair_places,
    send_owed_refunds,
)

log = logging.getLogger("bookings.sweeper")


def sweep() -> tuple[list, list]:
    """One pass; returns the bookings expired and the refunds sent. Refunds first: they need
    no Redis, so an outage of Redis does not hold them up."""
    refunds = send_owed_refunds()
    for refund in refunds:
        log.info("sent refund %s of %s, owed since %s", refund.pk, refund.amount, refund.created_at)
    expired = expire_stale_bookings()
    for booking in expired:
        log.info(
            "expired booking %s (showtime %s, seats %s)",
            booking.ref,
            booking.showtime_id,
            ",".join(booking.seat_labels),
        )
    lapsed = announce_lapsed_holds()
    if lapsed:
        log.info("holds lapsed: %s", ",".join(lapsed))
    for showtime in release_wheelchair_places():
        log.info("wheelchair spaces of showtime %s on general sale", showtime.pk)
    # Seats a process killed before offering them left free, or that staff added to a hall.
    for entry in offer_waiting_lists():
        log.info("offered seats of showtime %s to waiting entry %s", entry.waitlist_id, entry.pk)
    return expired, refunds


class Command(BaseCommand):
    help = (
        "Expire timed-out holds, announce lapsed ones, offer seats to waiting lists, send refunds "
        "a crash left owed: loop until SIGTERM/SIGINT, or one pass with --once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Sweep once and exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between sweeps (default 1)."
        )

    def handle(self, *args, once: bool, interval: float, **options):
        if once:
            expired, refunds = sweep()
            self.stdout.write(f"Expired {len(expired)} booking(s); {len(refunds)} refund(s) sent.")
            return
        # Keeps sweeping through a database or Redis outage; the TTL still frees the seats.
        run_passes("sweeper", sweep, interval=interval, log=log)
