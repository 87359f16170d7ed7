"""Make a key for TICKET_SIGNING_KEY, or show the public key of the one in use."""

from django.core.management.base import BaseCommand

from bookings import ticket_codes


class Command(BaseCommand):
    help = (
        "Print a new private key for TICKET_SIGNING_KEY (keep it secret; changing it voids every "
        "ticket already sent), or with --public the public key door devices check tickets with."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--public", action="store_true", help="The public key of the key in use."
        )

    def handle(self, *args, public: bool, **options):
        if public:
            self.stdout.write(ticket_codes.public_key_text())
        else:
            self.stdout.write(ticket_codes.new_key_text())
