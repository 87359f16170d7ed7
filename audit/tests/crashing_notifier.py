"""A notifier of its own, for test_notifier_crashes.py, so that it can really be killed.

`python audit/tests/crashing_notifier.py <step>` against DATABASE_URL, REDIS_URL and EMAIL_URL
(a folder the file backend writes each email into): one pass of the notifier over the event
stream, killed by SIGKILL at `<step>`:
- `before-send`: the Notification row written, the email not yet sent;
- `after-send`: the email sent, its transaction not yet committed;
- `before-ack`: committed, the stream entry not yet acknowledged;
- `none`: a whole pass (entries another consumer left pending are taken over at once).
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.mail import EmailMultiAlternatives  # noqa: E402

from audit.notifier import Notifier  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def run(step: str) -> None:
    send = EmailMultiAlternatives.send
    if step == "before-send":
        EmailMultiAlternatives.send = lambda message, *args, **kwargs: die()
    elif step == "after-send":
        EmailMultiAlternatives.send = lambda message, *args, **kwargs: (send(message), die())
    elif step == "before-ack":
        Notifier.acknowledge = lambda notifier, entry_id: die()
    Notifier(consumer=f"crash-{os.getpid()}", block_ms=100, min_idle_ms=0).run_once()


if __name__ == "__main__":
    run(sys.argv[1])
