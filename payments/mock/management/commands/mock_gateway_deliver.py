"""Send every webhook the mock provider has not delivered yet, now, and say how each went.

For when the web process stopped before its delivery thread was done, or the webhook URL was
unreachable for longer than the retries; events already delivered are not sent again.
"""

from django.core.management.base import BaseCommand

from payments.mock.webhooks import send_pending


class Command(BaseCommand):
    help = "Deliver the mock payment gateway's undelivered webhooks now (one attempt each)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="",
            help="Scheme and host to send to when MOCK_GATEWAY_WEBHOOK_URL is a path, e.g. "
            "http://127.0.0.1:8000 (default: the host each buyer paid on, else SITE_URL).",
        )

    def handle(self, *args, base_url: str, **options):
        sent = send_pending(base_url=base_url, waits=())
        for item in sent:
            outcome = "delivered" if item.delivered else f"failed: {item.problem}"
            self.stdout.write(f"{item.event_id} {item.type} -> {item.url}: {outcome}")
        delivered = sum(item.delivered for item in sent)
        self.stdout.write(f"Delivered {delivered} of {len(sent)} webhook(s).")
