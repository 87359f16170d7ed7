"""The one CSV writer: formula-safe cells, a UTF-8 byte order mark, local times with the zone."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from infra.csvfile import BOM, cell, csv_text


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx", "=1+1@x.com", '=HYPERLINK("x")'],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(text):
    assert cell(text) == f"'{text}"


@pytest.mark.parametrize("value", ["ann@example.com", "A1 Adult 10.00", "", "x=1"])
def test_other_text_is_written_as_it_is(value):
    assert cell(value) == value


def test_numbers_stay_numbers_and_nothing_is_empty():
    assert cell(Decimal("-2.50")) == Decimal("-2.50")
    assert cell(3) == 3
    assert cell(None) == ""


def test_a_time_is_the_cinemas_local_time_with_its_zone(settings):
    settings.TIME_ZONE = "Europe/London"
    assert cell(datetime(2026, 7, 1, 18, 30, tzinfo=UTC)) == "2026-07-01 19:30 BST"
    assert cell(datetime(2026, 12, 5, 18, 30, tzinfo=UTC)) == "2026-12-05 18:30 GMT"


def test_the_file_starts_with_a_byte_order_mark_and_reads_back():
    text = csv_text(["name", "note"], [["Café · Grand", "=cmd|' /C calc'!A0"]])
    assert text.startswith(BOM)
    (row,) = csv.DictReader(io.StringIO(text.removeprefix(BOM)))
    assert row == {"name": "Café · Grand", "note": "'=cmd|' /C calc'!A0"}
