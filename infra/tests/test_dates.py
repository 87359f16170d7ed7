"""One way to write a moment everywhere: local time, 24-hour clock, the year only when it is
not this year; the admin's own formats on the same clock."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import formats, timezone

from infra.dates import show_day, show_when

LONDON = ZoneInfo("Europe/London")


def _this_year() -> int:
    return timezone.localdate().year


def test_a_moment_this_year_has_no_year_and_a_24_hour_clock():
    moment = datetime(_this_year(), 3, 4, 19, 30, tzinfo=LONDON)
    assert show_when(moment) == f"{moment:%a} 4 Mar, 19:30"
    assert show_when(moment, long=True) == f"{moment:%A} 4 March, 19:30"


def test_a_moment_in_another_year_carries_its_year():
    moment = datetime(_this_year() + 1, 1, 7, 0, 16, tzinfo=LONDON)
    assert show_when(moment) == f"{moment:%a} 7 Jan {moment.year}, 00:16"
    last_year = date(_this_year() - 1, 12, 31)
    assert show_day(last_year, long=True) == f"{last_year:%A} 31 December {last_year.year}"


def test_a_moment_is_written_in_the_cinemas_time_zone():
    utc = datetime(_this_year(), 7, 1, 18, 0, tzinfo=ZoneInfo("UTC"))
    assert show_when(utc).endswith(", 19:00")  # London is on summer time in July


def test_seconds_when_they_matter_and_nothing_for_nothing():
    moment = datetime(_this_year(), 3, 4, 19, 30, 5, tzinfo=LONDON)
    assert show_when(moment, seconds=True).endswith(", 19:30:05")
    assert show_when(None) == ""


def test_templates_use_the_same_words():
    moment = timezone.now() + timedelta(days=400)
    rendered = Template("{% load dates %}{{ m|when }}|{{ m|when_long }}|{{ d|day_short }}").render(
        Context({"m": moment, "d": moment.date()})
    )
    assert rendered == "|".join(
        [show_when(moment), show_when(moment, long=True), show_day(moment.date())]
    )
    assert str(timezone.localtime(moment).year) in rendered


def test_the_admins_formats_use_a_24_hour_clock():
    moment = timezone.make_aware(datetime(2026, 12, 5, 0, 16))
    assert formats.date_format(moment, "DATETIME_FORMAT") == "5 Dec 2026, 00:16"
    assert formats.time_format(moment.time(), "TIME_FORMAT") == "00:16"
    assert "a.m." not in formats.localize(timezone.localtime(moment))
