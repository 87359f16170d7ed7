"""Reading what clients send: whole numbers of ASCII digits only, JSON nested within bounds."""

import pytest

from infra.inputs import JSON_MAX_DEPTH, load_json, whole_number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("42", 42),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("", None),
        ("²", None),  # str.isdigit() takes it; int() does not
        ("٣", None),
        ("\uff13", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1\n", None),
        ("1.0", None),
    ],
)
def test_a_whole_number_is_ascii_digits_and_not_too_many(text, number):
    assert whole_number(text) == number


def test_the_number_of_digits_is_the_callers():
    assert whole_number("123456789", digits=9) == 123456789
    assert whole_number("1234567890", digits=9) is None


def test_json_within_the_depth_is_read():
    nested = "[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH
    assert load_json(nested) is not None
    assert load_json(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": [1]}') == {
        "a": "[" * 41,
        "b": [1],
    }
    assert load_json('{"quote \\" [": [[]]}') == {'quote " [': [[]]}


@pytest.mark.parametrize(
    "text",
    [
        "[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1),
        '{"a": ' * 100_000 + "1" + "}" * 100_000,  # past Python's own recursion
        "not json",
        "",
    ],
)
def test_json_too_deep_or_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        load_json(text)
