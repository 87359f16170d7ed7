from datetime import date

import pytest

from payments.mock.cards import KNOWN_CARDS, check_card, known_card

TODAY = date(2026, 6, 15)
GOOD = {"card": "4242 4242 4242 4242", "exp": "12/30", "cvc": "123"}


def _errors(**fields) -> dict[str, str]:
    return check_card(**{**GOOD, **fields}, today=TODAY).errors


def test_good_details_have_no_errors_and_give_the_digits():
    check = check_card(**GOOD, today=TODAY)
    assert check.errors == {}
    assert check.number == "4242424242424242"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("", "Your card number is incomplete."),
        ("4242 4242", "Your card number is incomplete."),
        ("4242 4242 424", "Your card number is incomplete."),
        ("4242 4242 4242 4241", "Your card number is invalid."),  # fails the Luhn check
        ("4242 4242 abcd 4242", "Your card number is invalid."),
        ("4242 4242 4242 4242 4242", "Your card number is invalid."),  # 20 digits
        ("\uff14\uff12" * 6, "Your card number is invalid."),  # fullwidth, not ASCII digits
    ],
)
def test_card_number_messages(card, message):
    assert _errors(card=card) == {"card": message}


@pytest.mark.parametrize(
    "card", ["4242424242424242", "4242-4242-4242-4242", " 4242 4242 4242 4242 "]
)
def test_spaces_and_dashes_in_the_number_are_ignored(card):
    assert _errors(card=card) == {}


@pytest.mark.parametrize(
    ("exp", "message"),
    [
        ("", "Your card's expiration date is incomplete."),
        ("1", "Your card's expiration date is incomplete."),
        ("12", "Your card's expiration date is incomplete."),
        ("12/", "Your card's expiration date is incomplete."),
        ("12 / 3", "Your card's expiration date is incomplete."),
        ("13/30", "Your card's expiration date is invalid."),
        ("13/2", "Your card's expiration date is invalid."),
        ("13", "Your card's expiration date is invalid."),
        ("00/30", "Your card's expiration date is invalid."),
        ("ab/cd", "Your card's expiration date is invalid."),
        ("12/30/1", "Your card's expiration date is invalid."),
        ("12/25", "Your card's expiration year is in the past."),
        ("05/26", "Your card's expiration date is in the past."),
        ("12/99", "Your card's expiration year is invalid."),
    ],
)
def test_expiry_messages(exp, message):
    assert _errors(exp=exp) == {"exp": message}


@pytest.mark.parametrize("exp", ["06/26", "6/26", "12 / 30", "12/2030", " 01/27 "])
def test_expiry_this_month_or_later_is_accepted(exp):
    assert _errors(exp=exp) == {}


@pytest.mark.parametrize(
    ("cvc", "message"),
    [
        ("", "Your card's security code is incomplete."),
        ("12", "Your card's security code is incomplete."),
        ("12a", "Your card's security code is invalid."),
        ("12345", "Your card's security code is invalid."),
    ],
)
def test_security_code_messages(cvc, message):
    assert _errors(cvc=cvc) == {"cvc": message}


@pytest.mark.parametrize("cvc", ["123", "1234"])
def test_three_or_four_digit_security_codes_are_accepted(cvc):
    assert _errors(cvc=cvc) == {}


def test_every_field_reports_its_own_problem_in_form_order():
    errors = _errors(card="1", exp="", cvc="x")
    assert list(errors) == ["card", "exp", "cvc"]


def test_every_test_card_number_is_itself_a_valid_card():
    for card in KNOWN_CARDS:
        assert _errors(card=card.number) == {}, card
        assert known_card(card.number.replace(" ", "")) == card
    assert known_card("5555555555554444") is None
