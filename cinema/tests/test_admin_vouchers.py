"""Staff make vouchers in admin, one at a time or as a batch with its CSV; bad values refused."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from cinema.models import TicketType, Voucher

pytestmark = pytest.mark.django_db

Kind = AuditEvent.Kind


def _voucher_form(**fields) -> dict:
    return {"kind": "percent", "value": "10", "max_uses": "5", "batch": "", "code": "X"} | fields


def test_staff_add_a_code_as_typed_in_any_case_and_it_is_audited(staff):
    response = staff.post("/admin/cinema/voucher/add/", _voucher_form(code=" spring-10 "))
    assert response.status_code == 302, response.content[:2000]
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.label, voucher.uses) == ("SPRING-10", "10% off", 0)
    event = AuditEvent.objects.get(kind=Kind.VOUCHERS_ISSUED)
    assert event.detail == {"code": "SPRING-10", "offer": "10% off", "count": 1}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"value": "-5"}, "Ensure this value is greater than or equal to 0.01."),
        ({"value": "0"}, "Ensure this value is greater than or equal to 0.01."),
        ({"value": "150"}, "A percentage is at most 100."),
        ({"kind": "amount", "value": "9999"}, "Ensure this value is less than or equal to 500"),
        ({"code": "a b"}, "Use 3 to 32 letters, digits or dashes."),
        ({"max_uses": "0"}, "Ensure this value is greater than or equal to 1."),
        (
            {
                "valid_from_0": "2030-01-02",
                "valid_from_1": "10:00",
                "valid_until_0": "2030-01-01",
                "valid_until_1": "10:00",
            },
            "The end must come after the start.",
        ),
    ],
)
def test_bad_voucher_values_are_refused_with_a_message(staff, fields, message):
    response = staff.post("/admin/cinema/voucher/add/", _voucher_form(**{"code": "GOOD", **fields}))
    assert response.status_code == 200
    assert message in response.text
    assert not Voucher.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"value": Decimal("-1")}, {"value": Decimal("101")}, {"max_uses": 0}],
)
def test_the_database_refuses_bad_vouchers_too(fields):
    values = {"code": "RAW", "kind": "percent", "value": Decimal("10"), "max_uses": 1} | fields
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.create(**values)


def test_a_batch_of_codes_with_its_csv(staff, showtime):
    child = TicketType.objects.create(name="Child")
    response = staff.post(
        "/admin/cinema/voucher/generate/",
        {
            "batch": "School trip",
            "prefix": "trip",
            "count": "25",
            "kind": "amount",
            "value": "4.00",
            "max_uses": "1",
            "ticket_types": [child.pk],
            "showtimes": [showtime.pk],
        },
    )
    assert response.status_code == 302, response.content[:3000]
    vouchers = Voucher.objects.filter(batch="School trip")
    assert vouchers.count() == 25
    codes = list(vouchers.values_list("code", flat=True))
    assert len(set(codes)) == 25 and all(code.startswith("TRIP-") for code in codes)
    assert {v.ticket_types.get() for v in vouchers} == {child}
    assert {v.showtimes.get() for v in vouchers} == {showtime}
    event = AuditEvent.objects.get(kind=Kind.VOUCHERS_ISSUED)
    assert event.detail == {"batch": "School trip", "count": 25, "offer": "£4.00 off"}

    export = staff.post(
        "/admin/cinema/voucher/",
        {"action": "export_csv", "_selected_action": [v.pk for v in vouchers], "index": 0},
    )
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sorted(row["code"] for row in rows) == sorted(codes)
    assert {(row["offer"], row["max_uses"], row["batch"]) for row in rows} == {
        ("£4.00 off", "1", "School trip")
    }


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"count": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"count": "5000"}, "Ensure this value is less than or equal to 1000."),
        ({"prefix": "no spaces"}, "Use 2 to 10 letters or digits."),
        ({"batch": ""}, "This field is required."),
        ({"value": "-3"}, "Ensure this value is greater than or equal to 0.01."),
    ],
)
def test_a_bad_batch_makes_no_codes(staff, fields, message):
    data = {"batch": "B", "prefix": "OK", "count": "3", "kind": "percent", "value": "10"}
    data |= {"max_uses": "1"} | fields
    response = staff.post("/admin/cinema/voucher/generate/", data)
    assert response.status_code == 400
    assert message in response.text
    assert not Voucher.objects.exists()
    assert not AuditEvent.objects.filter(kind=Kind.VOUCHERS_ISSUED).exists()


def test_customers_cannot_make_vouchers(client, user):
    client.force_login(user)
    response = client.post(
        "/admin/cinema/voucher/generate/",
        {"batch": "B", "prefix": "OK", "count": "3", "kind": "percent", "value": "10"},
    )
    assert response.status_code != 200 and response.status_code < 500
    assert not Voucher.objects.exists()
