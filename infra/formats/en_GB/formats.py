"""British formats with a 24-hour clock: what the admin and every `|date` without a format show
("5 Dec 2026, 18:30", not Django's "5 Dec 2026, 6:30 p.m."). Pages and emails write moments with
infra.dates; these are the same words and clock for the admin's own lists and forms."""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1
