"""The charts' geometry: a scale that ends on a round number, bars that stand on zero."""

from decimal import Decimal

import pytest

from infra.charts import Frame, bar_chart, nice_ceiling


def test_the_scale_ends_on_one_two_or_five_times_a_power_of_ten():
    assert [
        nice_ceiling(Decimal(v)) for v in ("0", "0.30", "7", "10", "10.01", "27.74", "420")
    ] == [
        Decimal("1"),
        Decimal("0.5"),
        Decimal("10"),
        Decimal("10"),
        Decimal("20"),
        Decimal("50"),
        Decimal("500"),
    ]
    assert str(nice_ceiling(Decimal("420"))) == "500"


def test_bars_stand_on_zero_and_a_negative_one_hangs_below_it():
    chart = bar_chart([("Mon", Decimal("20.00")), ("Tue", Decimal("-10.00"))])

    frame = chart.frame
    assert (frame.low, frame.high) == (Decimal("-10"), Decimal("20"))
    up, down = chart.bars
    assert up.y + up.height == pytest.approx(chart.zero_y, abs=0.01)
    assert down.y == chart.zero_y
    assert round(up.height / down.height) == 2
    assert down.negative and not up.negative
    assert [tick.value for tick in chart.ticks] == [Decimal("-10"), 0, Decimal("20")]
    assert up.x < down.x < frame.plot_right


def test_a_frame_puts_its_low_at_the_bottom_and_its_high_at_the_top():
    frame = Frame(high=10)

    assert (frame.y(0), frame.y(10)) == (frame.plot_bottom, frame.plot_top)
    assert [tick.label for tick in frame.ticks([0, 5, 10], label=lambda v: f"{v} seats")] == [
        "0 seats",
        "5 seats",
        "10 seats",
    ]


def test_no_values_no_chart():
    assert bar_chart([]) is None


def test_ticks_that_would_say_the_same_are_drawn_once():
    chart = bar_chart([("Mon", 0), ("Tue", 1)], label=lambda value: f"{value:.0f}")

    assert [tick.label for tick in chart.ticks] == ["0", "1"]
