"""Back-office reports over a period (Manager: view_sales): the page with its charts, and a CSV of
each report. The figures come from backoffice.period_selectors; these views only read the period
from the query string (?from=YYYY-MM-DD&to=YYYY-MM-DD&group=day|week|month) and render it."""

from datetime import MAXYEAR, MINYEAR, date
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import dateformat, timezone

from backoffice import period_selectors as selectors
from cinema.money import format_money
from infra.charts import bar_chart
from infra.csvfile import csv_response

DATE_FORMATS = ["%Y-%m-%d"]
# The money axis's labels are wider than a count's.
MONEY_AXIS_LEFT = 64


def staff_page(view):
    """`admin.site.admin_view` (staff only, never cached, the staff login for the signed out),
    except that a signed-in customer is refused (403) rather than shown the staff login."""
    staff_view = admin.site.admin_view(view)

    @wraps(view)
    def page(request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_staff:
            raise PermissionDenied
        return staff_view(request, *args, **kwargs)

    return page


class PeriodForm(forms.Form):
    """The period as the query string gives it: `from` and `to` (both included) and `group`."""

    first = forms.DateField(
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Give the first day as YYYY-MM-DD, for example 2026-11-01."},
    )
    last = forms.DateField(
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Give the last day as YYYY-MM-DD, for example 2026-11-30."},
    )
    group = forms.ChoiceField(
        choices=[(group, group.capitalize()) for group in selectors.GROUPINGS],
        error_messages={"invalid_choice": "Group by day, week or month."},
    )

    @classmethod
    def from_query(cls, query) -> "PeriodForm":
        """The form filled from the query string; what is missing or blank is this month so
        far, by day."""
        today = timezone.localdate()
        defaults = {
            "first": today.replace(day=1).isoformat(),
            "last": today.isoformat(),
            "group": "day",
        }
        given = {"first": query.get("from"), "last": query.get("to"), "group": query.get("group")}
        return cls({name: given[name] or value for name, value in defaults.items()})

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        for day in (first, last):
            # The first and last years have no day before or after to count to.
            if day is not None and not MINYEAR < day.year < MAXYEAR:
                raise forms.ValidationError(
                    f"{day.isoformat()} is out of range: give a year from {MINYEAR + 1} to "
                    f"{MAXYEAR - 1}."
                )
        if first and last:
            if last < first:
                raise forms.ValidationError("The last day is before the first day.")
            days = (last - first).days + 1
            if days > selectors.MAX_DAYS:
                raise forms.ValidationError(
                    f"A report covers at most {selectors.MAX_DAYS} days; "
                    f"{first.isoformat()} to {last.isoformat()} is {days}."
                )
        return data

    @property
    def period(self) -> selectors.Period:
        data = self.cleaned_data
        return selectors.Period(first=data["first"], last=data["last"], group=data["group"])

    @property
    def problems(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]


@permission_required("bookings.view_sales", raise_exception=True)
def period_report(request):
    form = PeriodForm.from_query(request.GET)
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "form": form,
        "max_days": selectors.MAX_DAYS,
    }
    if not form.is_valid():
        return render(request, "backoffice/period_report.html", context, status=400)
    period = form.period
    revenue = selectors.get_revenue(period=period)
    attendance = selectors.get_attendance(period=period)
    films = selectors.get_films(period=period)
    top = max([line.net for line in films if line.net > 0], default=0)
    context.update(
        {
            "title": f"Reports: {_span(period.first, period.last)}",
            "period": period,
            # The CSV links name the period shown, not what the address left to the defaults.
            "query": urlencode(
                {
                    "from": period.first.isoformat(),
                    "to": period.last.isoformat(),
                    "group": period.group,
                }
            ),
            "revenue": revenue,
            "revenue_chart": bar_chart(
                [(_span(line.first, line.last), line.net) for line in revenue.lines],
                label=_whole_money,
                left=MONEY_AXIS_LEFT,
            ),
            "films": [(line, _share(line.net, top)) for line in films],
            "ticket_types": selectors.get_ticket_types(period=period),
            "vouchers": selectors.get_vouchers(period=period),
            "refunds": selectors.get_refunds(period=period),
            "attendance": attendance,
            "attendance_chart": bar_chart(
                [(_span(line.first, line.last), line.checked_in) for line in attendance],
                label=_whole,
            ),
        }
    )
    return render(request, "backoffice/period_report.html", context)


def _span(first: date, last: date) -> str:
    if first == last:
        return dateformat.format(first, "D j M Y")
    return f"{dateformat.format(first, 'j M Y')} to {dateformat.format(last, 'j M Y')}"


def _whole(value) -> str:
    return f"{value:,.0f}"


def _whole_money(value) -> str:
    """An axis label: whole pounds, pence only when the step is that small."""
    text = format_money(value)
    return text[:-3] if text.endswith(".00") else text


def _share(value, top) -> float:
    """Of a bar 100 units wide, how much `value` fills beside the largest, `top`."""
    return round(float(value / top) * 100, 1) if top and value > 0 else 0.0


CSV_REPORTS = {
    "revenue": (
        ["from", "to", "payments", "taken", "refunds", "refunded", "net"],
        lambda period: (
            [
                line.first,
                line.last,
                line.payments,
                line.taken,
                line.refunds,
                line.refunded,
                line.net,
            ]
            for line in selectors.get_revenue(period=period).lines
        ),
    ),
    "films": (
        ["film", "tickets", "taken", "refunded", "net"],
        lambda period: (
            [line.title, line.tickets, line.taken, line.refunded, line.net]
            for line in selectors.get_films(period=period)
        ),
    ),
    "ticket-types": (
        ["ticket_type", "tickets", "paid", "discount"],
        lambda period: (
            [line.name, line.tickets, line.paid, line.discount]
            for line in selectors.get_ticket_types(period=period)
        ),
    ),
    "vouchers": (
        ["voucher", "bookings", "tickets", "discount", "paid"],
        lambda period: (
            [line.code, line.bookings, line.tickets, line.discount, line.paid]
            for line in selectors.get_vouchers(period=period)
        ),
    ),
    "refunds": (
        ["reason", "refunds", "amount", "owed"],
        lambda period: (
            [line.reason, line.refunds, line.amount, line.owed]
            for line in selectors.get_refunds(period=period)
        ),
    ),
    "attendance": (
        ["from", "to", "tickets", "checked_in", "no_shows", "to_come"],
        lambda period: (
            [line.first, line.last, line.tickets, line.checked_in, line.no_shows, line.to_come]
            for line in selectors.get_attendance(period=period)
        ),
    ),
}


@permission_required("bookings.view_sales", raise_exception=True)
def period_report_csv(request, report: str):
    if report not in CSV_REPORTS:
        raise Http404("No such report.")
    form = PeriodForm.from_query(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "\n".join(form.problems), content_type="text/plain; charset=utf-8"
        )
    period = form.period
    header, rows = CSV_REPORTS[report]
    grouped = f"-by-{period.group}" if report in ("revenue", "attendance") else ""
    name = f"{report}{grouped}-{period.first.isoformat()}-to-{period.last.isoformat()}"
    return csv_response(name, header, rows(period))
