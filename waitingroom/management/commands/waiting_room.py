"""A showtime's waiting room from the command line: see it, turn it on or off, pause, resume,
change its pace. Every change is audited."""

from django.core.management.base import BaseCommand, CommandError

from cinema.models import Showtime
from infra.inputs import whole_number
from waitingroom import queue, services

ACTIONS = ("status", *services.SWITCHES)


class Command(BaseCommand):
    help = "Show or change a showtime's waiting room: status, on, off, pause, resume."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("showtime", help="The showtime's id.")
        parser.add_argument("--max-active", type=int, help="Shoppers choosing seats at once.")
        parser.add_argument("--rate", type=int, help="New shoppers let in per minute.")
        parser.add_argument("--window", type=int, help="Minutes a shopper has to hold seats.")

    def handle(self, *args, action: str, showtime: str, **options):
        showtime_id = whole_number(showtime)
        if showtime_id is None:
            raise CommandError(f"{showtime[:40]!r} is not a showtime id: give its number.")
        found = Showtime.objects.filter(pk=showtime_id).first()
        if found is None:
            raise CommandError(f"There is no showtime {showtime}.")
        try:
            room = services.change_room(
                showtime=found,
                action=action,
                changes=self._changes(action, options),
                by="manage.py waiting_room",
            )
        except services.RoomError as error:
            raise CommandError(str(error)) from None
        queued, active = queue.sizes(showtime_id=found.pk)
        state = "off" if not room.on else "paused" if room.paused else "on"
        self.stdout.write(
            f"Showtime {found.pk} ({found}): waiting room {state}; {queued} queued, {active} "
            f"shopping (at most {room.max_active}); {room.admit_per_minute} let in "
            f"a minute; {room.window_minutes} minutes each."
        )

    def _changes(self, action: str, options: dict) -> dict:
        changes = dict(services.SWITCHES.get(action, {}))
        for option, (field, _) in services.NUMBERS.items():
            if options.get(option) is not None:
                changes[field] = options[option]
        return changes
