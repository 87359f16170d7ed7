"""Sending the deliveries that are due: signed POSTs from the worker, never from a request, so a
receiver that is down or slow never slows a sale.

Every attempt is logged (Attempt). A 2xx answer delivers; anything else (another status, a
redirect, no answer within WEBHOOK_TIMEOUT_SECONDS) is tried again after the next wait of
BACKOFF, until WEBHOOK_RETRY_HOURS after the delivery was made (or sent again): then it has
failed, and staff may send it again.

In order per subject (a booking, a showtime): a delivery waits while an earlier one of its
endpoint and subject is pending. One receiver's trouble costs the others at most one timeout a
pass: once it fails, its other deliveries wait for a later pass, and a receiver that gives no
answer at all has its due deliveries wait for the next attempt of the one that failed, so it is
tried at one delivery's pace until it answers. Several workers may send at once: each takes a
delivery by moving its next attempt past what an attempt can take (a worker that dies while
posting leaves it to another, which sends it again under the same id).
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from infra.edge import CONTROL_IN_TEXT
from payments.signing import sign
from webhooks import addresses
from webhooks.models import Attempt, Delivery

SIGNATURE_HEADER = "Marquee-Signature"
DELIVERY_HEADER = "Marquee-Delivery"
EVENT_HEADER = "Marquee-Event"
USER_AGENT = "Marquee-Webhooks/1"
# The waits between the attempts at a delivery; the last repeats until it gives up.
BACKOFF = tuple(
    timedelta(seconds=seconds) for seconds in (10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800)
)
# How much of an answer the attempt's log keeps.
KEPT = 300


@dataclass(frozen=True)
class Answer:
    status_code: int | None = None  # None: no answer at all
    response: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send_due(*, limit: int = 50, now: datetime | None = None) -> int:
    """Try up to `limit` due deliveries once each, however many of them belong to a receiver
    that fails; returns how many were delivered."""
    now = now or timezone.now()
    failing: set[int] = set()
    tried = delivered = 0
    with _session() as session:
        while tried < limit:
            # Read again until none is left: without the receivers that failed, and with the
            # deliveries that waited for one just delivered.
            before = tried
            for delivery in _due(now).exclude(endpoint__in=failing)[: limit - tried]:
                if delivery.endpoint_id in failing or not _take(delivery, now=now):
                    continue
                tried += 1
                if _send(delivery, session=session, now=now):
                    delivered += 1
                else:
                    failing.add(delivery.endpoint_id)
            if tried == before:
                break
    return delivered


def _headers(delivery: Delivery, body: bytes) -> dict[str, str]:
    """The headers of an attempt, signed now (a receiver refuses an old signature)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(payload=body, secret=delivery.endpoint.secret),
        DELIVERY_HEADER: str(delivery.uuid),
        EVENT_HEADER: delivery.type,
    }


def _next_attempt(delivery: Delivery, *, now: datetime) -> datetime | None:
    """When to try again after a failed attempt, or None once that is past its retry window."""
    tries = Attempt.objects.filter(delivery=delivery, at__gte=delivery.queued_at).count()
    later = now + BACKOFF[min(tries, len(BACKOFF)) - 1]
    give_up_at = delivery.queued_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    return later if later <= give_up_at else None


def _due(now: datetime):
    earlier_pending = Delivery.objects.filter(
        endpoint=OuterRef("endpoint"), subject=OuterRef("subject"), status=Delivery.Status.PENDING
    ).filter(Q(event__lt=OuterRef("event")) | Q(event=OuterRef("event"), pk__lt=OuterRef("pk")))
    return (
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
        )
        .exclude(Exists(earlier_pending))
        .select_related("endpoint")
        .order_by("next_attempt_at", "pk")
    )


def _take(delivery: Delivery, *, now: datetime) -> bool:
    """Take the delivery from other workers for as long as an attempt can last."""
    busy = timedelta(seconds=4 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk,
            status=Delivery.Status.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + busy)
    )


def _send(delivery: Delivery, *, session: requests.Session, now: datetime) -> bool:
    """One attempt, logged; whether it was delivered."""
    answer = _post(delivery, session=session)
    attempted = {"attempts": F("attempts") + 1}
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=answer.status_code,
            response=answer.response,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
        this = Delivery.objects.filter(pk=delivery.pk)
        if answer.ok:
            this.update(status=Delivery.Status.DELIVERED, delivered_at=now, **attempted)
            return True
        later = _next_attempt(delivery, now=now)
        if later is None:
            this.update(status=Delivery.Status.FAILED, **attempted)
            return False
        this.update(next_attempt_at=later, **attempted)
        if answer.status_code is None:
            Delivery.objects.filter(
                endpoint_id=delivery.endpoint_id,
                status=Delivery.Status.PENDING,
                next_attempt_at__lt=later,
            ).exclude(pk=delivery.pk).update(next_attempt_at=later)
    return False


def _session() -> requests.Session:
    session = requests.Session()
    # Straight to the receiver, as the payment mock posts: no proxy from the environment.
    session.trust_env = False
    return session


def _post(delivery: Delivery, *, session: requests.Session) -> Answer:
    body = delivery.body.encode()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        addresses.check(delivery.endpoint.url, resolve=True)
    except addresses.AddressRefused as error:
        return Answer(error=str(error)[:KEPT], duration_ms=took())
    try:
        # A redirect is a failure (as with payment providers), never a POST turned into a GET.
        response = session.post(
            delivery.endpoint.url,
            data=body,
            headers=_headers(delivery, body),
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return Answer(error=f"no answer within {timeout:g} s", duration_ms=took())
    except requests.RequestException as error:
        return Answer(error=str(error)[:KEPT], duration_ms=took())
    with response:
        try:
            start = next(response.iter_content(KEPT), b"")
        except requests.RequestException:
            start = b""  # the status is what counts
    return Answer(
        status_code=response.status_code,
        response=_text(start),
        duration_ms=took(),
    )


def _text(data: bytes) -> str:
    """The start of an answer as text any database stores (PostgreSQL refuses NUL)."""
    return CONTROL_IN_TEXT.sub("\N{REPLACEMENT CHARACTER}", data.decode(errors="replace"))[:KEPT]
