from django.core.management.base import BaseCommand, CommandError

from accounts.services import UnknownEmail, promote_admin


class Command(BaseCommand):
    help = "Give an existing user the back office (staff and superuser) by email."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            user = promote_admin(email=email.strip())
        except UnknownEmail as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{user.email or email} can now use the back office."))
