"""Send booking emails from the event stream until SIGTERM/SIGINT."""

import logging
import os
import socket

from django.core.management.base import BaseCommand

from audit.notifier import Notifier
from audit.workers import run_passes

log = logging.getLogger("audit.notifier")


class Command(BaseCommand):
    help = "Consume the event stream (consumer group 'notifier') and send booking emails."

    def add_arguments(self, parser):
        parser.add_argument(
            "--consumer",
            default=f"{socket.gethostname()}-{os.getpid()}",
            help="This consumer's name in the group (default host-pid).",
        )
        parser.add_argument(
            "--min-idle",
            type=float,
            default=60.0,
            help="Take over entries another consumer left unacknowledged this many seconds.",
        )
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args, consumer: str, min_idle: float, once: bool, **options):
        notifier = Notifier(consumer=consumer, min_idle_ms=int(min_idle * 1000))
        if once:
            notifier.block_ms = 1
            self.stdout.write(f"Handled {notifier.run_once()} entr(ies).")
            return
        # A pass blocks up to a second on the stream, so SIGTERM is noticed within a second; the
        # short pause between passes keeps a server that does not block (the embedded one) from
        # spinning.
        run_passes(f"notifier {consumer}", notifier.run_once, interval=0.2, log=log)
