"""Webhook signatures as Stripe makes them: HMAC-SHA256 over "<timestamp>.<body>".

The header reads `t=<unix seconds>,v1=<hex digest>` (several v1 entries are allowed while a
secret is being rotated). A signature older or newer than the tolerance is refused, so a captured
delivery cannot be replayed later.
"""

import hashlib
import hmac
import time

from payments.gateway import BadSignature


def sign(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header for `payload`, made now (or at `timestamp`)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(payload=payload, secret=secret, timestamp=timestamp)}"


def verify(*, payload: bytes, header: str, secret: str, tolerance_seconds: int) -> None:
    """Return if `header` signs `payload` with `secret` within the tolerance; else BadSignature."""
    if not header or not secret:
        raise BadSignature("The webhook carries no signature.")
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("The webhook signature header is malformed.")
    expected = _digest(payload=payload, secret=secret, timestamp=timestamp)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise BadSignature("The webhook signature does not match.")
    if abs(time.time() - timestamp) > tolerance_seconds:
        raise BadSignature("The webhook signature is too old.")


def _digest(*, payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
