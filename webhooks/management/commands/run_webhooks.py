"""Send the webhooks out from the event stream until SIGTERM/SIGINT; safe to run twice."""

import logging
import os
import socket

from django.core.management.base import BaseCommand

from audit.workers import run_passes
from webhooks.worker import WebhookWorker

log = logging.getLogger("webhooks.worker")


class Command(BaseCommand):
    help = (
        "Consume the event stream (consumer group 'webhooks'), make the deliveries the "
        "registered endpoints want and send them, retrying with backoff."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--consumer",
            default=f"{socket.gethostname()}-{os.getpid()}",
            help="This consumer's name in the group (default host-pid).",
        )
        parser.add_argument(
            "--interval", type=float, default=0.2, help="Seconds between passes (default 0.2)."
        )
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args, consumer: str, interval: float, once: bool, **options):
        worker = WebhookWorker(consumer=consumer)
        if once:
            worker.block_ms = 1
            self.stdout.write(f"Handled {worker.run_once()} entr(ies).")
            return
        # A pass blocks up to a second on the stream, so SIGTERM is noticed within a second.
        run_passes(f"webhooks {consumer}", worker.run_once, interval=interval, log=log)
