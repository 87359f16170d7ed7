"""Card details as the provider's test mode checks them, in its words, and its test cards.

Any Luhn-valid number with a future expiry and a 3 or 4 digit CVC pays, except the few test
numbers below that decline or ask the bank to authenticate.
"""

import re
from dataclasses import dataclass, field
from datetime import date

DECLINED = "Your card was declined."
INSUFFICIENT_FUNDS = "Your card has insufficient funds."
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)


@dataclass(frozen=True)
class KnownCard:
    number: str  # as printed on the page
    result: str
    decline: str = ""  # the message, for a card that is declined
    authenticate: bool = False  # the bank asks the buyer to confirm first


KNOWN_CARDS = (
    KnownCard("4242 4242 4242 4242", "Pays"),
    KnownCard("4000 0025 0000 3155", "Asks your bank to confirm, then pays", authenticate=True),
    KnownCard("4000 0000 0000 0002", "Declined", decline=DECLINED),
    KnownCard("4000 0000 0000 9995", "Declined: insufficient funds", decline=INSUFFICIENT_FUNDS),
)
_KNOWN = {card.number.replace(" ", ""): card for card in KNOWN_CARDS}


@dataclass(frozen=True)
class CardCheck:
    number: str  # digits only
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message, in form order


def check_card(*, card: str, exp: str, cvc: str, today: date) -> CardCheck:
    """The card number and what is wrong with each field, if anything."""
    number = re.sub(r"[\s-]", "", card)
    errors = {
        name: message
        for name, message in [
            ("card", _number_problem(number)),
            ("exp", _expiry_problem(re.sub(r"\s", "", exp), today)),
            ("cvc", _cvc_problem(cvc.strip())),
        ]
        if message
    }
    return CardCheck(number=number, errors=errors)


def known_card(number: str) -> KnownCard | None:
    return _KNOWN.get(number)


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()  # isdigit() alone takes "²"


def _number_problem(number: str) -> str:
    if number and not _digits(number):
        return "Your card number is invalid."
    if len(number) < 12:
        return "Your card number is incomplete."
    if len(number) > 19 or not _luhn(number):
        return "Your card number is invalid."
    return ""


def _expiry_problem(exp: str, today: date) -> str:
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{2}|[0-9]{4})", exp)
    if not match:
        typed_month = re.match(r"[0-9]{2}", exp)
        if typed_month and not 1 <= int(typed_month[0]) <= 12:
            return "Your card's expiration date is invalid."
        if re.fullmatch(r"[0-9]{0,2}/?[0-9]?", exp):
            return "Your card's expiration date is incomplete."
        return "Your card's expiration date is invalid."
    month, year = int(match[1]), int(match[2])
    year += 2000 if year < 100 else 0
    if not 1 <= month <= 12:
        return "Your card's expiration date is invalid."
    if year < today.year:
        return "Your card's expiration year is in the past."
    if year > today.year + 50:
        return "Your card's expiration year is invalid."
    if (year, month) < (today.year, today.month):
        return "Your card's expiration date is in the past."
    return ""


def _cvc_problem(cvc: str) -> str:
    if cvc and not _digits(cvc):
        return "Your card's security code is invalid."
    if len(cvc) < 3:
        return "Your card's security code is incomplete."
    if len(cvc) > 4:
        return "Your card's security code is invalid."
    return ""


def _luhn(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0
