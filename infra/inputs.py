"""The input layer: reading what clients send (whole numbers, amounts, JSON), bounded, so that bad
input is a clear 400 with a message and never a server error. Every view and consumer reads its
numbers and JSON here."""

import json
import re
from decimal import Decimal

# ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses.
_DIGITS = re.compile(r"[0-9]+")
# An amount of money as forms send it: pounds, and pence if any.
_AMOUNT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,2})?")
# A JSON string (its escapes included), and the brackets that nest.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NESTING = re.compile(rb"[\[\]{}]")
# Deeper than any document of ours (an upload of scans is 3 deep), far below Python's recursion.
JSON_MAX_DEPTH = 32


def whole_number(text: str, *, digits: int = 18) -> int | None:
    """`text` as a whole number when it is 1 to `digits` ASCII digits, else None."""
    if len(text) <= digits and _DIGITS.fullmatch(text):
        return int(text)
    return None


def amount(text: str) -> Decimal | None:
    """`text` as an amount of money (up to 9,999,999.99, ASCII digits), else None."""
    return Decimal(text) if _AMOUNT.fullmatch(text) else None


def load_json(body: bytes | str, *, max_depth: int = JSON_MAX_DEPTH):
    """Parse JSON nested at most `max_depth` deep; ValueError for anything else (the parser
    itself would recurse once per level, and fail on a deep document with RecursionError)."""
    raw = body.encode() if isinstance(body, str) else body
    depth = 0
    for bracket in _NESTING.findall(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        if depth > max_depth:
            raise ValueError(f"JSON nested more than {max_depth} deep")
    return json.loads(raw)
