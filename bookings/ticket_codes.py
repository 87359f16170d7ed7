"""What a ticket's QR code says, signed so a door device holding only the public key can tell a
real ticket from a forged, altered or truncated one without asking the server.

A code is `T1.<showtime id>.<ticket id>.<secret>.<signature>`: the first four parts are signed
with the cinema's Ed25519 key (TICKET_SIGNING_KEY), the signature is base64url. The secret is the
ticket's own (`Ticket.secret`, unguessable); reissuing a ticket gives it a new one, so the old
code stops being valid even though its signature still is.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "T1"
CODE = re.compile(r"T1\.([0-9]{1,12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{86})")


class InvalidCode(ValueError):
    """Not a ticket of this cinema: garbage, truncated, altered, or signed by another key."""


@dataclass(frozen=True)
class Code:
    showtime_id: int
    ticket_id: int
    secret: str


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_text() -> str:
    """A fresh private key as TICKET_SIGNING_KEY takes it (32 bytes, base64url)."""
    return b64(os.urandom(32))


@cache
def signing_key() -> Ed25519PrivateKey:
    """The key from TICKET_SIGNING_KEY; in development (DEBUG, no key set) one made on the first
    run and kept in TICKET_DEV_KEY_FILE, so tickets stay valid across restarts."""
    text = settings.TICKET_SIGNING_KEY or _dev_key_text()
    try:
        seed = unb64(text.strip())
        if len(seed) != 32:
            raise ValueError
        return Ed25519PrivateKey.from_private_bytes(seed)
    except (ValueError, binascii.Error):
        raise ImproperlyConfigured(
            "TICKET_SIGNING_KEY must be 32 random bytes in base64url: make one with "
            "`python manage.py ticket_key`."
        ) from None


def _dev_key_text() -> str:
    path = settings.TICKET_DEV_KEY_FILE
    try:
        # Created once, whichever process gets there first; the others read it.
        with open(path, "x") as file:
            file.write(new_key_text())
    except FileExistsError:
        pass
    return path.read_text()


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_text() -> str:
    """The public key (raw 32 bytes, base64url), for door devices."""
    return b64(public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def encode(*, showtime_id: int, ticket_id: int, secret: str) -> str:
    payload = f"{VERSION}.{showtime_id}.{ticket_id}.{secret}"
    return f"{payload}.{b64(signing_key().sign(payload.encode()))}"


def decode(text: str, *, key: Ed25519PublicKey | None = None) -> Code:
    """The ticket a code names, if `key` (the cinema's public key by default) signed it."""
    match = CODE.fullmatch((text or "").strip())
    if match is None:
        raise InvalidCode("Not a valid ticket.")
    payload = text.strip().rsplit(".", 1)[0]
    try:
        signature = unb64(match[4])
        # One spelling per signature: base64's spare bits could otherwise vary unnoticed.
        if b64(signature) != match[4]:
            raise ValueError
        (key or public_key()).verify(signature, payload.encode())
    except (InvalidSignature, ValueError, binascii.Error):
        raise InvalidCode("Not a valid ticket.") from None
    return Code(showtime_id=int(match[1]), ticket_id=int(match[2]), secret=match[3])
