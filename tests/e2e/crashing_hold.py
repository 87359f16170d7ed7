"""A web process of its own that dies between its Lua hold and the commit of its booking.

`python tests/e2e/crashing_hold.py <showtime id> <seat label> <username>` against the stack's
DATABASE_URL and REDIS_URL: the user's hold is placed in Redis, the monotonic time of it printed,
then the process is killed by SIGKILL before the booking commits, leaving a hold that no booking
owns (an orphan) and that nobody has told the seat map's viewers about.
"""

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from bookings import services  # noqa: E402
from cinema.models import Showtime  # noqa: E402
from seats import holds  # noqa: E402


def hold_then_die(showtime_id: int, label: str, username: str) -> None:
    hold = holds.hold_first

    def held_then_killed(**kwargs):
        result = hold(**kwargs)
        assert result.ok, result
        # The test's clock for the orphan's life starts here, not when this process started
        # (importing Django takes a second or more on a loaded machine).
        print(time.monotonic(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    holds.hold_first = held_then_killed
    services.hold_seats(
        user=get_user_model().objects.get(username=username),
        showtime=Showtime.objects.get(pk=showtime_id),
        labels=[label],
    )


if __name__ == "__main__":
    hold_then_die(int(sys.argv[1]), sys.argv[2], sys.argv[3])
