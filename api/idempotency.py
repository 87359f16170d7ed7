"""`Idempotency-Key` on the POSTs that change seats or money, as Stripe has it: the first request
with a key is answered and its answer kept for a day; a retry with the same key and the same
request gets that answer again (`Idempotent-Replayed: true`) and changes nothing; the same key
with another request is a 409. A request still being answered makes its retry a 409 too.

Kept: answers that are an outcome (2xx, 402, 404, 409). Not kept, so a retry runs again: refusals
before the operation ran (invalid input, not signed in, CSRF, rate limits) and server errors. A
claim whose answer never came (the process died) is given up after CLAIM_SECONDS: its retry runs
again, which the services make safe (a hold replaces the open one; a payment attempt is a record,
and a second one closes the first).
"""

import hashlib
import random
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from api.auth import caller
from api.models import IdempotentRequest
from api.problems import problem

KEEP = timedelta(hours=24)
# One claim in this many also forgets up to FORGET_BATCH answers older than KEEP: the table stays
# a day's keys long with no job to run, at a bounded cost to the request that does it.
FORGET_EVERY = 100
FORGET_BATCH = 500
CLAIM_SECONDS = 60
KEPT_STATUSES = {402, 404, 409}
HEADER = "Idempotency-Key"


def idempotent(run):
    """Wraps an operation's run (its final response) with the key's claim and answer."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        user = caller(request) if key is not None else None
        if user is None:
            return run(request, *args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            return problem(400, "invalid_request", f"{HEADER} is 1 to 255 printable characters.")
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.body])
        ).hexdigest()
        claim, answer = _claim(user=user, key=key, fingerprint=fingerprint)
        if answer is not None:
            return answer
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            claim.delete()
            raise
        if 200 <= response.status_code < 300 or response.status_code in KEPT_STATUSES:
            claim.status = response.status_code
            claim.content_type = response.get("Content-Type", "")
            claim.body = response.content
            claim.save(update_fields=["status", "content_type", "body"])
        else:
            claim.delete()
        return response

    return wrapper


def forget_old(*, limit: int = FORGET_BATCH) -> int:
    """Delete up to `limit` answers older than KEEP, oldest first; returns how many."""
    old = IdempotentRequest.objects.filter(created_at__lt=timezone.now() - KEEP)
    pks = list(old.order_by("created_at").values_list("pk", flat=True)[:limit])
    return IdempotentRequest.objects.filter(pk__in=pks).delete()[0] if pks else 0


def _claim(*, user, key: str, fingerprint: str):
    """(the new claim, None), or (None, the answer to give instead)."""
    if random.randrange(FORGET_EVERY) == 0:  # noqa: S311 (a share of the work, not a secret)
        forget_old()
    for _ in range(2):
        try:
            with transaction.atomic():
                claim = IdempotentRequest.objects.create(
                    user=user, key=key, fingerprint=fingerprint
                )
            return claim, None
        except IntegrityError:
            first = IdempotentRequest.objects.filter(user=user, key=key).first()
        if first is None:
            continue  # given up meanwhile: claim it again
        age = timezone.now() - first.created_at
        stale = first.status is None and age > timedelta(seconds=CLAIM_SECONDS)
        if age > KEEP or stale:
            IdempotentRequest.objects.filter(pk=first.pk).delete()
            continue
        if first.fingerprint != fingerprint:
            return None, problem(
                409,
                "idempotency_key_reused",
                f"This {HEADER} was sent with another request: use a new key for a new request.",
            )
        if first.status is None:
            refused = problem(
                409, "idempotency_key_in_use", "The first request with this key is still running."
            )
            refused["Retry-After"] = "1"
            return None, refused
        replay = HttpResponse(
            bytes(first.body), status=first.status, content_type=first.content_type
        )
        replay["Idempotent-Replayed"] = "true"
        return None, replay
    return None, problem(409, "idempotency_key_in_use", "Send the request again.")
