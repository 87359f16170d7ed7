"""A web process killed between its Lua hold and its commit: the seat map is right again by
itself, on the sockets already open."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import HOLD_TTL
from tests.e2e.test_live_seat_map import _a_showtime_path
from tests.viewer import Viewer

CRASHING_HOLD = Path(__file__).with_name("crashing_hold.py")
SWEEPER_INTERVAL = 0.5  # tests.e2e.stack runs the sweeper with --interval 0.5


def _until(check, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def test_an_orphan_hold_is_told_when_it_lapses_to_viewers_connected_during_its_life(stack):
    first, second = stack
    showtime_id = int(re.search(r"\d+", _a_showtime_path(first))[0])
    before = Viewer(second, showtime_id)
    before.start()
    assert before.ready.wait(10)
    assert before.shows("H9") == "available"

    crashed = subprocess.run(
        [sys.executable, str(CRASHING_HOLD), str(showtime_id), "H9", "alice"],
        env=stack.env,
        capture_output=True,
        text=True,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    held_at = float(crashed.stdout)  # the hold's own moment (CLOCK_MONOTONIC is machine-wide)
    during = Viewer(first, showtime_id)
    during.start()
    assert during.ready.wait(10)
    assert during.shows("H9") == "held", "the orphan holds the seat while it lives"

    bound = HOLD_TTL + SWEEPER_INTERVAL + 2
    assert _until(lambda: during.shows("H9") == "available", held_at + bound - time.monotonic()), (
        f"{time.monotonic() - held_at:.1f} s after the orphan hold the viewer still shows "
        f"H9 {during.shows('H9')}"
    )
    print(f"the orphan's seat shown available {time.monotonic() - held_at:.1f} s after its hold")
    assert _until(lambda: before.shows("H9") == "available", 1)
    for viewer in (before, during):
        viewer.stop()
        assert viewer.connections == 1, "healed on the same socket, without reconnecting"
