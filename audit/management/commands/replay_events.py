"""Append to the event stream every committed event it is missing (after a Redis outage)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from audit.stream import publish_unpublished, unpublished_count


class Command(BaseCommand):
    help = "Publish audit events that were committed but never reached the Redis stream."

    def handle(self, *args, **options):
        waiting = unpublished_count()
        published = publish_unpublished(grace=timedelta(0))
        self.stdout.write(f"Published {published} of {waiting} unpublished event(s).")
