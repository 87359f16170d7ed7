"""Auditorium layouts as text: what staff paste in admin and what `seed_demo` uses.

One line per row, the screen above the first line:

    A  ss.ssss|ssss.ss
    B  ssssssss|ssssssss
    -
    C  aacssss|ssssss

- A row line is a row label (letters) then its cells, one character each:
  `s` seat, `p` premium seat, `v` VIP recliner, `a` accessible (wheelchair) place, `c`
  companion seat, `x` blocked seat (exists, never offered), `.` gap (no seat here), `|` aisle.
  A seat's kind is its category on a price list, which may add a supplement for it.
- A line of `-` is a cross aisle (empty space between rows). Blank lines and `#` comments
  are ignored.
- Seats are numbered 1, 2, 3, ... from the left of each row, across gaps and aisles.
"""

import re
from dataclasses import dataclass

SEAT_KINDS = {
    "s": "standard",
    "p": "premium",
    "v": "vip",
    "a": "accessible",
    "c": "companion",
    "x": "standard",
}
EMPTY_CELLS = {".": "gap", "|": "aisle"}
ROW_LABEL = re.compile(r"[A-Z]{1,3}")


class LayoutError(ValueError):
    """A layout that cannot be parsed; the message names the line and column."""


@dataclass(frozen=True)
class SeatSpec:
    row: str
    number: int
    label: str
    x: int
    y: int
    kind: str
    blocked: bool


@dataclass(frozen=True)
class Layout:
    seats: tuple[SeatSpec, ...]
    width: int
    height: int
    aisles: frozenset[int]


def parse_layout(text: str) -> Layout:
    """Parse a layout text, or raise LayoutError naming where it is wrong."""
    seats: list[SeatSpec] = []
    rows_seen: dict[str, int] = {}
    aisle_columns: set[int] = set()
    width = 0
    y = 0
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if set(line.strip()) == {"-"}:
            if not seats:
                raise LayoutError(
                    f"line {line_number}: a cross aisle cannot come before the first row"
                )
            y += 1
            continue
        label_match = re.match(r"\s*(\S+)\s+", line)
        if not label_match:
            raise LayoutError(
                f"line {line_number}: expected a row label, spaces, then cells "
                "(like 'A  ssss|ssss')"
            )
        row = label_match.group(1)
        if not ROW_LABEL.fullmatch(row):
            raise LayoutError(
                f"line {line_number}, column {label_match.start(1) + 1}: "
                f"row label must be 1 to 3 capital letters, got {row!r}"
            )
        if row in rows_seen:
            raise LayoutError(
                f"line {line_number}: row {row} appears twice (first on line {rows_seen[row]})"
            )
        rows_seen[row] = line_number
        cells = line[label_match.end() :]
        start_column = label_match.end() + 1
        number = 0
        for x, cell in enumerate(cells):
            if cell in SEAT_KINDS:
                number += 1
                seats.append(
                    SeatSpec(
                        row=row,
                        number=number,
                        label=f"{row}{number}",
                        x=x,
                        y=y,
                        kind=SEAT_KINDS[cell],
                        blocked=cell == "x",
                    )
                )
            elif cell == "|":
                aisle_columns.add(x)
            elif cell != ".":
                raise LayoutError(
                    f"line {line_number}, column {start_column + x}: unknown cell {cell!r} "
                    "(use s seat, a accessible, c companion, x blocked, . gap, | aisle)"
                )
        if number == 0:
            raise LayoutError(f"line {line_number}: row {row} has no seats")
        width = max(width, len(cells))
        y += 1
    if not seats:
        raise LayoutError("the layout has no rows: write one line per row, like 'A  ssss|ssss'")
    return Layout(seats=tuple(seats), width=width, height=y, aisles=frozenset(aisle_columns))
