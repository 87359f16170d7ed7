"""Every CSV the site writes, through one writer: safe to open in a spreadsheet, and alike.

- A text cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a
  tab or a carriage return) is written after an apostrophe, which shows it as text (CSV
  injection: a customer's email `=HYPERLINK(...)@x.com` is a valid address).
- The file starts with a UTF-8 byte order mark, so Excel reads `·` and `£` as such.
- Times are the cinema's local time with the zone named (`2026-12-05 19:30 GMT`).
"""

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> object:
    """One value as the CSV carries it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return f"'{value}"
    return value


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """The byte order mark, the header and every row, each cell through `cell`."""
    text = io.StringIO()
    text.write(BOM)
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return text.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    """A download of `rows` as `<filename>-<local time>.csv`."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response.write(csv_text(header, rows))
    return response
