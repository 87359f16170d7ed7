from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings.reconcile import reconcile_payments
from payments.gateway import GatewayError


class Command(BaseCommand):
    help = (
        "Compare payments here with the gateway's, both ways: fix what is safe (settle payments "
        "whose webhook was lost, close unpaid ones, send owed refunds) and list what needs a "
        "person. Exits 1 when something does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="How far back to look (7).")
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be fixed.")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        try:
            report = reconcile_payments(
                since=timezone.now() - timedelta(days=days), fix=not dry_run
            )
        except GatewayError as error:
            raise CommandError(f"The payment gateway did not answer: {error}") from None
        for line in report.fixed:
            self.stdout.write(f"fixed: {line}" if not dry_run else line)
        for line in report.attention:
            self.stdout.write(self.style.WARNING(f"needs a person: {line}"))
        self.stdout.write(
            f"Checked {report.checked} sessions and payments from the last {days} days: "
            f"{len(report.fixed)} {'to fix' if dry_run else 'fixed'}, "
            f"{len(report.attention)} need a person."
        )
        if report.attention:
            raise CommandError(f"{len(report.attention)} payment problem(s) need a person.")
