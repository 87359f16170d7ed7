import time

import pytest

from payments.gateway import BadSignature
from payments.signing import sign, verify

SECRET = "whsec-test-secret"
BODY = b'{"id": "evt_test_1", "type": "payment.succeeded"}'


def _verify(header: str, *, payload: bytes = BODY, secret: str = SECRET) -> None:
    verify(payload=payload, header=header, secret=secret, tolerance_seconds=300)


def test_a_signature_verifies_the_body_it_was_made_for():
    header = sign(payload=BODY, secret=SECRET)
    assert header.startswith("t=") and ",v1=" in header
    _verify(header)


def test_a_signature_made_with_another_secret_is_refused():
    with pytest.raises(BadSignature, match="does not match"):
        _verify(sign(payload=BODY, secret="whsec-someone-else"))


def test_a_tampered_body_is_refused():
    header = sign(payload=BODY, secret=SECRET)
    with pytest.raises(BadSignature, match="does not match"):
        _verify(header, payload=BODY.replace(b"succeeded", b"failed"))


def test_a_changed_timestamp_breaks_the_signature():
    header = sign(payload=BODY, secret=SECRET, timestamp=1_700_000_000)
    with pytest.raises(BadSignature, match="does not match"):
        _verify(header.replace("t=1700000000", f"t={int(time.time())}"))


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_signature_outside_the_tolerance_is_refused(age):
    header = sign(payload=BODY, secret=SECRET, timestamp=int(time.time()) - age)
    with pytest.raises(BadSignature, match="too old"):
        _verify(header)


def test_a_signature_within_the_tolerance_is_accepted():
    _verify(sign(payload=BODY, secret=SECRET, timestamp=int(time.time()) - 250))


@pytest.mark.parametrize(
    "header",
    ["v1=abc", "t=1700000000", "t=abc,v1=abc", "garbage", "t=,v1=", "t=١٢٣,v1=abc"],
)
def test_a_malformed_header_is_refused(header):
    with pytest.raises(BadSignature, match="malformed"):
        _verify(header)


def test_no_header_or_no_secret_is_refused():
    with pytest.raises(BadSignature, match="no signature"):
        _verify("")
    with pytest.raises(BadSignature, match="no signature"):
        _verify(sign(payload=BODY, secret=SECRET), secret="")


def test_any_of_several_signatures_may_match_while_a_secret_is_rotated():
    now = int(time.time())
    old = sign(payload=BODY, secret="whsec-old", timestamp=now)
    new = sign(payload=BODY, secret=SECRET, timestamp=now)
    _verify(f"{old},{new.split(',')[1]}")
