"""A notifier killed at any step of sending an email: the buyer's mailbox shows it once.

At least once, never lost: the email is sent inside the transaction that writes its UNIQUE
Notification row, so a notifier killed before the commit sends it again (the row was rolled
back), and one killed after it finds the row and sends nothing. The one case that reaches the
mail server twice, killed between the send and the commit, sends the same `Message-ID` twice,
which a mailbox shows as one email.
"""

import re
import signal
from pathlib import Path

import pytest

from tests.crashes import ROOT, crash_env, run

BOOKING_WORKER = ROOT / "bookings" / "tests" / "crashing_worker.py"
NOTIFIER = Path(__file__).with_name("crashing_notifier.py")


def _message_ids(maildir: Path) -> list[str]:
    """The Message-ID of every email the file backend wrote, one per email."""
    ids = []
    for path in sorted(maildir.glob("*")):
        text = path.read_text()
        for message in text.split("-" * 79):
            found = re.search(r"^Message-ID: (.+)$", message, re.MULTILINE)
            if found:
                ids.append(found[1].strip())
    return ids


@pytest.mark.parametrize("step", ["before-send", "after-send", "before-ack"])
def test_a_notifier_killed_at_any_step_leaves_one_email_in_the_mailbox(
    tmp_path, redis_db, settings, step
):
    maildir = tmp_path / "mail"
    env = crash_env(tmp_path, settings.REDIS_URL, EMAIL_URL=f"file:///{maildir}")
    for booking_step in ("setup", "pay", "confirm"):  # a paid booking: its confirmation is owed
        run(env, str(BOOKING_WORKER), booking_step)

    killed = run(env, str(NOTIFIER), step, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run(env, str(NOTIFIER), "none")
    run(env, str(NOTIFIER), "none")

    ids = _message_ids(maildir)
    assert ids, "the confirmation was never sent"
    assert len(set(ids)) == 1, ids
    assert len(ids) == (2 if step == "after-send" else 1), ids
    assert re.fullmatch(r"<event-\d+\.[\w-]+@[\w.-]+>", ids[0]), ids[0]
