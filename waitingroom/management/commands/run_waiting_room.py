"""Let shoppers in from every open waiting room, at each room's pace; safe to run twice (the
admission is one atomic script per room, its pace kept in Redis)."""

import logging

from django.core.management.base import BaseCommand

from audit.workers import run_passes
from waitingroom.services import admit_pass

log = logging.getLogger("waitingroom.worker")


class Command(BaseCommand):
    help = "Admit queued shoppers: loop until SIGTERM/SIGINT, or one pass with --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between passes (default 1)."
        )

    def handle(self, *args, once: bool, interval: float, **options):
        if once:
            self.stdout.write(f"Let in {admit_pass()} shopper(s).")
            return
        run_passes("waitingroom", admit_pass, interval=interval, log=log)
