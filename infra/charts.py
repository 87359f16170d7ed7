"""The geometry of the back office's charts, drawn as SVG on the server (no script, no library):
a plot area in SVG user units, a value scale with its ticks, and bars. Templates draw what these
compute (backoffice/_chart_axes.html draws the frame); the page says the figures in a table too.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

# The drawing area, in SVG user units (the <svg> scales it to the page).
WIDTH = 480
HEIGHT = 200
LEFT = 40
RIGHT = 12
TOP = 12
BOTTOM = 28

# Each bar takes this share of its slot; the rest is the gap beside it.
BAR_SHARE = 0.7

Number = int | Decimal


@dataclass(frozen=True)
class ChartTick:
    y: float
    value: Number
    label: str


@dataclass(frozen=True)
class Frame:
    """A plot area and its value scale, from `low` (at the bottom) to `high` (at the top)."""

    high: Number
    low: Number = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT

    @property
    def plot_left(self) -> int:
        return self.left

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_top(self) -> int:
        return TOP

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    def x(self, share: float) -> float:
        """The point `share` (0 to 1) of the way across the plot."""
        return self.plot_left + (self.plot_right - self.plot_left) * share

    def y(self, value: Number) -> float:
        span = float(self.high - self.low) or 1.0
        return self.plot_bottom - (self.plot_bottom - TOP) * float(value - self.low) / span

    def ticks(self, values: Sequence[Number], label: Callable[[Number], str] = str):
        """A tick per value, but one per label: on a scale of 0 to 1 person, the half is "0"."""
        ticks: dict[str, ChartTick] = {}
        for value in values:
            text = label(value)
            ticks.setdefault(text, ChartTick(y=round(self.y(value), 1), value=value, label=text))
        return list(ticks.values())


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number
    x: float
    y: float
    width: float
    height: float

    @property
    def negative(self) -> bool:
        return self.value < 0


@dataclass(frozen=True)
class BarChart:
    frame: Frame
    bars: list[Bar]
    ticks: list[ChartTick]
    zero_y: float

    @property
    def first(self) -> Bar:
        return self.bars[0]

    @property
    def last(self) -> Bar:
        return self.bars[-1]


def nice_ceiling(value: Number) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten at least `value` (1 for nothing)."""
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    step = Decimal(1).scaleb(value.adjusted())
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            # Written out in full: str() of 2E+1 would label an axis "2E+1".
            return Decimal(int(step * factor)) if step >= 1 else step * factor
    raise AssertionError("unreachable")


def bar_chart(
    values: Sequence[tuple[str, Number]], *, label: Callable[[Number], str] = str, left: int = LEFT
) -> BarChart | None:
    """One bar per (label, value), in order, on a scale from zero (or the lowest value, when
    one is below zero) to a round number above the highest; None for no values."""
    if not values:
        return None
    numbers = [value for _, value in values]
    high = nice_ceiling(max(max(numbers), 0))
    low = -nice_ceiling(-min(numbers)) if min(numbers) < 0 else Decimal(0)
    frame = Frame(high=high, low=low, left=left)
    zero = frame.y(0)
    slot = 1 / len(values)
    bars = []
    for index, (name, value) in enumerate(values):
        top = frame.y(value)
        bars.append(
            Bar(
                label=name,
                value=value,
                x=round(frame.x(slot * (index + (1 - BAR_SHARE) / 2)), 2),
                y=round(min(top, zero), 2),
                width=round(frame.x(slot * BAR_SHARE) - frame.plot_left, 2),
                height=round(abs(zero - top), 2),
            )
        )
    marks = [low, 0, high] if low < 0 else [0, high / 2, high]
    return BarChart(
        frame=frame, bars=bars, ticks=frame.ticks(marks, label=label), zero_y=round(zero, 2)
    )
