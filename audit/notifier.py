"""The notification worker: a consumer group on the event stream that sends the emails.

At least once (reading as every `audit.groups.GroupReader` does), and one email in the mailbox:
an entry is acknowledged only after its email went out, and a `Notification` row (UNIQUE per
event, committed with the send) stops a second delivery of the same event, whether it comes from
a redelivery, a reclaim or a duplicate append. A notifier killed before that commit sends the
email again (its row was rolled back); the one such crash that reaches the mail server twice,
between the send and the commit, sends it with the same `Message-ID` (made from the event), which
a mailbox shows once (audit/tests/test_notifier_crashes.py kills a notifier at each step).

The stream is only the fast path. Once an event is on it the outbox has let go, so Redis losing
the stream (FLUSHALL, a failover to a replica behind, MAXLEN trimming an unread backlog) would
lose its email. The database decides instead: every `missed_every` seconds the notifier looks for
email-causing events older than `missed_grace` with no Notification row and sends them through
the same `handle`, which needs no Redis at all.
"""

import logging
import time
from datetime import timedelta
from email.mime.base import MIMEBase
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.emails import compose
from audit.groups import GroupReader
from audit.models import AuditEvent, Notification
from audit.stream import publish_unpublished

log = logging.getLogger("audit.notifier")

GROUP = "notifier"

# The stream gets this long to deliver an event before the database look sends its email: longer
# than the default reclaim idle time, so a slow or retried entry is not raced for nothing.
MISSED_GRACE = timedelta(minutes=2)
# How far back the look goes on every pass; `replay_events --days` reaches further.
MISSED_HORIZON = timedelta(days=2)


def attachments_for(event: dict) -> list:
    """The files an event's email carries (the tickets of a confirmed booking), from the app
    that owns them: settings.EMAIL_ATTACHMENTS names the function (the notifier imports no
    other app). Each is (filename, content, mimetype), or a MIME part for an inline image."""
    if not settings.EMAIL_ATTACHMENTS:
        return []
    return import_string(settings.EMAIL_ATTACHMENTS)(event)


def message_id(event: dict) -> str:
    """The same for every sending of an event's email, so that a mailbox shows one."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<event-{event['id']}.{event['booking_ref'] or event['kind']}@{domain}>"


class NotifierEmail(EmailMultiAlternatives):
    """multipart/mixed: first the body (text, and the HTML with the images it shows in a
    multipart/related of its own), then each file. Mail apps list the files of the mixed part;
    files inside a related part are the HTML's pieces, which some of them never show."""

    def __init__(self, *args, related=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.related = list(related)

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.related:
            return msg
        parts = msg.get_payload()
        # The HTML is the last alternative: the one a mail app prefers (RFC 2046).
        related = SafeMIMEMultipart(
            _subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET
        )
        related.attach(parts[-1])
        for part in self.related:
            related.attach(part)
        parts[-1] = related
        return msg


class Notifier(GroupReader):
    group = GROUP

    def __init__(
        self,
        *,
        consumer: str,
        block_ms: int = 1000,
        count: int = 50,
        min_idle_ms: int = 60_000,
        missed_grace: timedelta = MISSED_GRACE,
        missed_horizon: timedelta = MISSED_HORIZON,
        missed_every: float = 30.0,
        missed_limit: int = 50,
    ):
        super().__init__(consumer=consumer, block_ms=block_ms, count=count, min_idle_ms=min_idle_ms)
        self.missed_grace = missed_grace
        self.missed_horizon = missed_horizon
        self.missed_every = missed_every
        self.missed_limit = missed_limit
        self.next_missed_look = 0.0

    def run_once(self) -> int:
        """One pass: send what the stream lost (now and then), catch up the outbox, reclaim stale
        entries, read new ones. Returns the stream entries handled."""
        # First, and free of Redis: the emails the database owes go out even while Redis is down.
        if time.monotonic() >= self.next_missed_look:
            self.next_missed_look = time.monotonic() + self.missed_every
            sent = self.send_missed()
            if sent:
                log.warning("sent %d email(s) the stream never delivered", sent)
        self.ensure_group()
        caught_up = publish_unpublished()
        if caught_up:
            log.info("appended %d event(s) the stream had missed", caught_up)
        return self.read()

    def send_missed(
        self,
        *,
        grace: timedelta | None = None,
        horizon: timedelta | None = None,
        limit: int | None = None,
    ) -> int:
        """Send the emails owed by events older than `grace`, at most `limit`; returns how many.

        Several notifiers may look at once: each locks the event it sends for (skipping the ones
        another holds), and the UNIQUE Notification row settles it against the stream path. An
        email that fails is logged and tried again next time, so it never holds up the others.
        """
        grace = self.missed_grace if grace is None else grace
        horizon = self.missed_horizon if horizon is None else horizon
        limit = self.missed_limit if limit is None else limit
        now = timezone.now()
        owed = (
            AuditEvent.objects.emailing()
            .unnotified()
            .filter(occurred_at__gte=now - horizon, occurred_at__lte=now - grace)
        )
        candidates = list(owed.order_by("occurred_at", "id").values_list("pk", flat=True)[:limit])
        sent = 0
        for pk in candidates:
            try:
                with transaction.atomic():
                    event = owed.select_for_update(skip_locked=True).filter(pk=pk).first()
                    if event is not None and self.handle(event.as_message()):
                        sent += 1
            except Exception:
                log.exception("could not send the email event %s owes; trying again later", pk)
        return sent

    def handle(self, event: dict) -> bool:
        """Send the event's email unless it was sent before; True if one went out now."""
        email = compose(event)
        if email is None:
            return False
        with transaction.atomic():
            try:
                with transaction.atomic():
                    Notification.objects.create(
                        event_id=event["id"], recipient=email.recipient, subject=email.subject
                    )
            except IntegrityError:
                log.info("event %s was already notified; skipping", event["id"])
                return False
            message = NotifierEmail(
                email.subject,
                email.text,
                to=[email.recipient],
                headers={"Message-ID": message_id(event)},
            )
            message.attach_alternative(email.html, "text/html")
            for attachment in attachments_for(event):
                if isinstance(attachment, MIMEBase):  # an inline image the HTML shows
                    message.related.append(attachment)
                else:
                    message.attach(*attachment)
            # A failed send raises and rolls the Notification back: the entry stays pending.
            message.send()
        log.info("sent %s email for booking %s", event["kind"], event["booking_ref"])
        return True
