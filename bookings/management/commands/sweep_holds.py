"""Expire PENDING bookings whose hold timed out or vanished, and free their seats."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand

from bookings.services import expire_stale_bookings

log = logging.getLogger("bookings.sweeper")


class Command(BaseCommand):
    help = "Expire timed-out holds: loop until SIGTERM/SIGINT, or one pass with --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Sweep once and exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between sweeps (default 1)."
        )

    def handle(self, *args, once: bool, interval: float, **options):
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            log.info("sweeper started, every %.1fs", interval)
        while True:
            try:
                expired = expire_stale_bookings()
            except Exception:
                if once:
                    raise
                # Keep sweeping through a database or Redis outage; the TTL still frees seats.
                log.exception("sweep failed; retrying")
                expired = []
            for booking in expired:
                log.info(
                    "expired booking %s (showtime %s, seats %s)",
                    booking.ref,
                    booking.showtime_id,
                    ",".join(booking.seat_labels),
                )
            if once or stop.wait(interval):
                break
        if once:
            self.stdout.write(f"Expired {len(expired)} booking(s).")
        else:
            log.info("sweeper stopped")
