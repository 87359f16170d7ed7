"""Delivering the mock provider's outbox (`MockWebhook`) to the merchant's webhook URL.

With MOCK_GATEWAY_WEBHOOKS = "http" a daemon thread of the web process posts a session's new
events once the transaction that recorded them has committed, after the configured delay, maybe
twice or newest first, and retries with backoff like a real provider; what it gives up on stays
in the outbox for `manage.py mock_gateway_deliver` and for the booking side's reconciliation.
With "manual" nothing is sent: tests take the deliveries from `pending()` and post them
themselves.
"""

import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from payments import signing
from payments.mock.models import MockSession, MockWebhook

log = logging.getLogger("payments.mock.webhooks")

SIGNATURE_HEADER = "Mock-Signature"
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0)  # between the 5 attempts at one event
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Delivery:
    """One webhook request, ready to post: `headers` are exactly the headers to send."""

    event_id: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Sent:
    event_id: str
    type: str
    url: str
    delivered: bool
    problem: str = ""  # why the last attempt failed


def pending(session_id: str | None = None) -> list[Delivery]:
    """Undelivered events (of one session, or all), oldest first, freshly signed."""
    return [
        Delivery(event_id=event.id, body=event.body.encode(), headers=_headers(event.body.encode()))
        for event in _undelivered(session_id)
    ]


def mark_delivered(event_id: str) -> None:
    MockWebhook.objects.filter(pk=event_id, delivered_at=None).update(
        delivered_at=timezone.now(), attempts=F("attempts") + 1
    )


def send_after_commit(session: MockSession) -> None:
    """In "http" mode, post the session's undelivered events once the current transaction
    commits (never for a transaction that rolls back)."""
    if settings.MOCK_GATEWAY_WEBHOOKS != "http":
        return
    transaction.on_commit(partial(_start_sending, session_id=session.pk), robust=True)


def send_pending(
    *, session_id: str | None = None, base_url: str = "", waits: tuple[float, ...] = RETRY_WAITS
) -> list[Sent]:
    """Post every undelivered event (of one session, or all) now, retrying each after `waits`.

    A webhook URL that is a path goes to `base_url`, else to the scheme and host the buyer paid
    on, else to SITE_URL.
    """
    events = list(_undelivered(session_id).select_related("session"))
    if settings.MOCK_GATEWAY_WEBHOOK_REORDER:
        events.reverse()
    sent = []
    for event in events:
        url = webhook_url(base_url or event.session.origin or settings.SITE_URL)
        problem = _post_with_retries(event, url=url, waits=waits)
        if problem is None and settings.MOCK_GATEWAY_WEBHOOK_DUPLICATE:
            _post(event, url=url)  # the copy: a real provider may deliver an event twice
        sent.append(
            Sent(
                event_id=event.id,
                type=event.type,
                url=url,
                delivered=problem is None,
                problem=problem or "",
            )
        )
    return sent


def webhook_url(base_url: str) -> str:
    """MOCK_GATEWAY_WEBHOOK_URL, taken on `base_url` (scheme and host) when it is a path."""
    return urljoin(base_url.rstrip("/") + "/", settings.MOCK_GATEWAY_WEBHOOK_URL)


def _undelivered(session_id: str | None):
    events = MockWebhook.objects.filter(delivered_at=None).order_by("created_at", "id")
    return events.filter(session_id=session_id) if session_id else events


def _headers(body: bytes) -> dict[str, str]:
    signature = signing.sign(payload=body, secret=settings.PAYMENT_WEBHOOK_SECRET)
    return {"Content-Type": "application/json", SIGNATURE_HEADER: signature}


def _start_sending(*, session_id: str) -> None:
    threading.Thread(
        target=_send_in_background,
        kwargs={"session_id": session_id},
        name=f"mock-webhooks-{session_id}",
        daemon=True,
    ).start()


def _send_in_background(*, session_id: str) -> None:
    try:
        time.sleep(settings.MOCK_GATEWAY_WEBHOOK_DELAY_SECONDS)
        send_pending(session_id=session_id)
    except Exception:
        log.exception("Sending the webhooks of %s failed", session_id)
    finally:
        connection.close()


def _post_with_retries(event: MockWebhook, *, url: str, waits: tuple[float, ...]) -> str | None:
    """None once the event is delivered, else why the last attempt failed."""
    for wait in (*waits, None):
        problem = _post(event, url=url)
        if problem is None:
            MockWebhook.objects.filter(pk=event.pk, delivered_at=None).update(
                delivered_at=timezone.now()
            )
            return None
        if wait is None:
            break
        time.sleep(wait)
    # Quietly: reconciliation on the merchant's side finds what webhooks never told it.
    log.warning(
        "Gave up delivering webhook %s (%s) to %s after %d attempts: %s",
        event.id,
        event.type,
        url,
        len(waits) + 1,
        problem,
    )
    return problem


# Straight to the merchant: no proxy from the environment, and a redirect is a failure (as with
# real providers), never a POST silently turned into a GET.
class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def _post(event: MockWebhook, *, url: str) -> str | None:
    """One attempt: None on a 2xx answer, else what went wrong."""
    MockWebhook.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    if not connection.in_atomic_block:
        # The post and any wait after it hold no database connection: in a rush the pool's
        # connections are for requests, and the merchant's own answer needs one.
        connection.close()
    if urlsplit(url).scheme not in {"http", "https"}:
        return f"{url!r} is not an http(s) URL"
    body = event.body.encode()
    request = urllib.request.Request(url, body, _headers(body), method="POST")  # noqa: S310 (http(s))
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        error.close()
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    return None if 200 <= status < 300 else f"HTTP {status}"
