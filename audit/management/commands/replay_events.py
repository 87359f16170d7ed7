"""Append to the event stream every committed event it is missing, and send the emails it lost."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from audit.notifier import MISSED_HORIZON, Notifier
from audit.stream import publish_unpublished, unpublished_count


class Command(BaseCommand):
    help = (
        "Publish audit events that were committed but never reached the Redis stream, and send "
        "the emails of events Redis lost before the notifier read them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=float,
            default=MISSED_HORIZON / timedelta(days=1),
            help="Send the emails still owed by events of this many past days.",
        )
        parser.add_argument(
            "--limit", type=int, default=10_000, help="Send at most this many emails."
        )

    def handle(self, *args, days: float, limit: int, **options):
        waiting = unpublished_count()
        published = publish_unpublished(grace=timedelta(0))
        self.stdout.write(f"Published {published} of {waiting} unpublished event(s).")
        sent = Notifier(consumer="replay_events").send_missed(
            grace=timedelta(0), horizon=timedelta(days=days), limit=limit
        )
        self.stdout.write(f"Sent {sent} email(s) the stream never delivered (last {days:g} days).")
