"""The door: scans admit once, refuse clearly, work offline and upload without losing a scan."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from bookings import errors as bookings_errors
from bookings import services as bookings
from bookings import ticket_codes
from bookings.models import Ticket
from checkin import services
from checkin.models import CheckIn, OfflineScan
from cinema.models import Showtime
from cinema.services import schedule_showtime
from conftest import pay
from tests.concurrency import POSTGRES_ONLY, at_once

pytestmark = pytest.mark.django_db

Kind = AuditEvent.Kind


@pytest.fixture
def paid(showtime, user):
    return pay(bookings.hold_seats(user=user, showtime=showtime, labels=["A3", "A4", "B1"]))


@pytest.fixture
def door(staff):
    """A staff member's phone at the door."""
    return staff


def _code(ticket: Ticket) -> str:
    return ticket_codes.encode(
        showtime_id=ticket.showtime_id, ticket_id=ticket.pk, secret=ticket.secret
    )


def _ticket(booking, label: str) -> Ticket:
    return booking.tickets.get(seat__label=label)


def _flip(code: str, at: int) -> str:
    return code[:at] + ("B" if code[at] != "B" else "C") + code[at + 1 :]


def _scan(client, showtime, code: str, **extra):
    return client.post(
        f"/checkin/{showtime.pk}/scan/",
        {"code": code, "device": "phone-1", "door": "Door 2", **extra},
        headers={"Accept": "application/json"},
    )


def test_a_ticket_is_admitted_once_then_refused_with_who_and_where(door, showtime, paid):
    code = _code(_ticket(paid, "A3"))
    first = _scan(door, showtime, code)
    assert first.status_code == 200
    answer = first.json()
    assert (answer["status"], answer["message"], answer["in"]) == ("admit", "Admit: A3 Adult", 1)
    again = _scan(door, showtime, code)
    assert again.status_code == 409
    local = timezone.localtime(CheckIn.objects.get().at)
    assert again.json()["message"] == f"Already checked in at {local:%H:%M} by ops, Door 2"
    assert again.json()["in"] == 1 and again.json()["sold"] == 3
    events = AuditEvent.objects.filter(kind__in=[Kind.CHECKED_IN, Kind.CHECK_IN_REFUSED])
    assert [(e.kind, e.detail["device"], e.detail["door"]) for e in events.order_by("id")] == [
        (Kind.CHECKED_IN, "phone-1", "Door 2"),
        (Kind.CHECK_IN_REFUSED, "phone-1", "Door 2"),
    ]


def test_a_ticket_for_another_showtime_says_which(door, showtime, paid, movie, auditorium):
    later = schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=showtime.starts_at + timedelta(hours=5),
        price_list=showtime.price_list,
    )
    response = _scan(door, later, _code(_ticket(paid, "A3")))
    assert response.status_code == 409
    local = timezone.localtime(showtime.starts_at)
    assert response.json()["message"] == (
        f"Wrong showtime: this ticket is for Test Hall on {local:%a %-d %b} at {local:%H:%M}"
    )
    assert not CheckIn.objects.exists()


def test_refunded_and_reissued_tickets_are_void(door, showtime, paid, staff_user):
    a3, a4 = _ticket(paid, "A3"), _ticket(paid, "A4")
    old_a3, old_a4 = _code(a3), _code(a4)
    bookings.refund_tickets(booking=paid, actor=staff_user, reason="test", labels=["A3"])
    bookings.reissue_ticket(ticket=a4, actor=staff_user)
    assert _scan(door, showtime, old_a3).json()["message"] == "Void: refunded"
    assert _scan(door, showtime, old_a4).json()["message"] == "Void: reissued"
    a4.refresh_from_db()
    assert _scan(door, showtime, _code(a4)).json()["status"] == "admit"


def test_a_ticket_passed_on_is_void_under_its_old_code_and_admits_under_its_new_one(
    door, showtime, paid
):
    a3 = _ticket(paid, "A3")
    old = _code(a3)
    bookings.pass_on_tickets(booking=paid, labels=["A3"], email="dee@example.com")
    refused = _scan(door, showtime, old)
    assert refused.status_code == 409
    assert (refused.json()["status"], refused.json()["message"]) == ("void", "Void: transferred")
    a3.refresh_from_db()
    admitted = _scan(door, showtime, _code(a3))
    assert admitted.status_code == 200
    assert admitted.json()["message"] == "Admit: A3 Adult"
    offline = door.get(f"/checkin/{showtime.pk}/tickets.json").json()
    assert {"id": a3.pk, "secret": old.split(".")[3], "seat": "A3", "reason": "transferred"} in (
        offline["void"]
    )


def test_a_code_voided_while_its_scan_is_under_way_is_not_admitted(
    door, showtime, paid, staff_user
):
    """The door read the ticket by its old code, then the ticket was passed on before the
    check-in was written: the old code must not admit it."""
    outcome, read = services._read(showtime=showtime, code=_code(_ticket(paid, "A3")))
    assert outcome.admitted
    bookings.pass_on_tickets(booking=paid, labels=["A3"], email="dee@example.com")
    late = services._admit(
        showtime=showtime, ticket=read, door=services.Door(staff=staff_user), at=timezone.now()
    )
    assert (late.status, late.message) == ("void", "Void: transferred")
    assert not CheckIn.objects.exists()


def test_a_ticket_checked_in_cannot_be_passed_on(door, showtime, paid):
    _scan(door, showtime, _code(_ticket(paid, "A3")))
    with pytest.raises(bookings_errors.TransferRefused, match="A3 has been used at the door"):
        bookings.pass_on_tickets(booking=paid, labels=["A3", "A4"], email="dee@example.com")
    assert not paid.transfers.exists()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda code: "",
        lambda code: "garbage",
        lambda code: code[:-10],  # truncated
        lambda code: _flip(code, code.rindex(".") - 3),  # a changed secret
        lambda code: _flip(code, len(code) - 5),  # a changed signature
        lambda code: code + "x" * 400,  # far too long
    ],
)
def test_garbage_and_tampered_codes_are_not_tickets(door, showtime, paid, mangle):
    code = mangle(_code(_ticket(paid, "A3")))
    response = _scan(door, showtime, code)
    assert response.status_code == 400
    assert response.json()["message"] == "Not a valid ticket"
    assert not CheckIn.objects.exists()


def test_a_code_re_signed_with_another_key_is_not_a_ticket(door, showtime, paid):
    ticket = _ticket(paid, "A3")
    payload = f"T1.{showtime.pk}.{ticket.pk}.{ticket.secret}"
    signature = ticket_codes.b64(Ed25519PrivateKey.generate().sign(payload.encode()))
    response = _scan(door, showtime, f"{payload}.{signature}")
    assert response.status_code == 400 and not CheckIn.objects.exists()


def test_customers_and_visitors_cannot_use_the_door(showtime, paid, user):
    customer = Client()
    customer.force_login(user)
    code = _code(_ticket(paid, "A3"))
    for client, status in [(customer, 403), (Client(), 401)]:
        assert _scan(client, showtime, code).status_code == status
        assert (
            client.get(
                f"/checkin/{showtime.pk}/tickets.json", headers={"Accept": "application/json"}
            ).status_code
            == status
        )
        assert (
            client.post(
                f"/checkin/{showtime.pk}/sync/", data="{}", content_type="application/json"
            ).status_code
            == status
        )
    assert customer.get(f"/checkin/{showtime.pk}/").status_code == 403
    assert Client().get(f"/checkin/{showtime.pk}/").status_code == 302
    assert not CheckIn.objects.exists()


def test_staff_can_undo_a_mistaken_check_in(door, showtime, paid):
    ticket = _ticket(paid, "A3")
    _scan(door, showtime, _code(ticket))
    response = door.post(f"/checkin/{showtime.pk}/undo/", {"ticket": ticket.pk, "door": "Door 2"})
    assert response.status_code == 200 and response.json()["in"] == 0
    assert AuditEvent.objects.filter(kind=Kind.CHECK_IN_UNDONE).count() == 1
    assert _scan(door, showtime, _code(ticket)).status_code == 200
    assert door.post(f"/checkin/{showtime.pk}/undo/", {"ticket": "x"}).status_code == 400
    assert door.post(f"/checkin/{showtime.pk}/undo/", {"ticket": "²"}).status_code == 400
    assert door.post(f"/checkin/{showtime.pk}/undo/", {"ticket": "999"}).status_code == 404


def test_the_plain_form_works_without_javascript(door, showtime, paid):
    response = door.post(f"/checkin/{showtime.pk}/scan/", {"code": _code(_ticket(paid, "B1"))})
    assert response.status_code == 200
    assert "Admit: B1 Adult" in response.text and "door__result--admit" in response.text


def test_the_offline_list_carries_what_a_door_needs(door, showtime, paid):
    _scan(door, showtime, _code(_ticket(paid, "A3")))
    data = door.get(
        f"/checkin/{showtime.pk}/tickets.json", headers={"Accept": "application/json"}
    ).json()
    assert data["public_key"] == ticket_codes.public_key_text()
    assert {(t["seat"], t["in"]) for t in data["tickets"]} == {
        ("A3", True),
        ("A4", False),
        ("B1", False),
    }
    assert (data["in"], data["sold"]) == (1, 3)


def _offline(scan_id: str, code: str, at, door="Door 3") -> dict:
    return {
        "id": scan_id,
        "code": code,
        "scanned_at": at.isoformat(),
        "device": "tab",
        "door": door,
    }


def _sync(client, showtime, scans):
    return client.post(
        f"/checkin/{showtime.pk}/sync/", data={"scans": scans}, content_type="application/json"
    )


def test_an_offline_upload_admits_reports_conflicts_and_a_replay_changes_nothing(
    door, showtime, paid
):
    Ticket.objects.update(sold_at=timezone.now() - timedelta(days=1))
    a3, a4, b1 = (_ticket(paid, label) for label in ("A3", "A4", "B1"))
    # Door 2, online, admitted A3 at 19:05; the offline door admitted it at 19:01 and A4 too.
    _scan(door, showtime, _code(a3))
    online_at = CheckIn.objects.get(ticket=a3).at
    before = online_at - timedelta(minutes=4)
    scans = [
        _offline("scan-0001-aaaa", _code(a3), before),
        _offline("scan-0002-bbbb", _code(a4), before + timedelta(seconds=5)),
        _offline("scan-0003-cccc", _code(a4), before + timedelta(seconds=9), door="Door 4"),
        _offline("scan-0004-dddd", "junk", before + timedelta(seconds=12)),
    ]
    response = _sync(door, showtime, scans)
    assert response.status_code == 200
    data = response.json()
    assert [r["status"] for r in data["results"]] == ["already", "admit", "already", "invalid"]
    assert (data["in"], data["sold"]) == (2, 3)
    assert len(data["conflicts"]) == 2
    # First scan wins: A3's check-in is now the offline door's, four minutes earlier.
    first = CheckIn.objects.get(ticket=a3)
    assert (first.door, first.at, first.offline) == ("Door 3", before, True)
    assert CheckIn.objects.get(ticket=a4).door == "Door 3"
    assert AuditEvent.objects.filter(kind=Kind.CHECK_IN_CONFLICT).count() == 2
    assert not CheckIn.objects.filter(ticket=b1).exists()

    replay = _sync(door, showtime, scans).json()
    assert [r["status"] for r in replay["results"]] == ["duplicate"] * 4
    assert OfflineScan.objects.count() == 4 and CheckIn.objects.count() == 2
    assert AuditEvent.objects.filter(kind=Kind.CHECK_IN_CONFLICT).count() == 2


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "Send JSON"),
        # Nested deeper than Python's parser recurses: a RecursionError, not a ValueError.
        ('{"scans": ' + "[" * 50_000 + "]" * 50_000 + "}", "Send JSON"),
        ({"scans": "x"}, "at most 500"),
        (
            {"scans": [{"id": "short", "code": "x", "scanned_at": "2030-01-01T00:00:00+00:00"}]},
            "the id its device gave it",
        ),
        ({"scans": [{"id": "scan-00000001", "code": "x", "scanned_at": "yesterday"}]}, "no time"),
        (
            {"scans": [{"id": "scan-00000001", "code": "x", "scanned_at": "2030-01-01T00:00:00"}]},
            "cannot be right",
        ),
        (
            {"scans": [{"id": "scan-00000001", "code": "x", "scanned_at": "2099-01-01T00:00:00Z"}]},
            "cannot be right",
        ),
    ],
)
def test_a_bad_upload_is_refused_whole(door, showtime, body, message):
    if isinstance(body, str):
        response = door.post(
            f"/checkin/{showtime.pk}/sync/", data=body, content_type="application/json"
        )
    else:
        response = _sync(door, showtime, body["scans"])
    assert response.status_code == 400 and message in response.json()["error"]
    assert not OfflineScan.objects.exists()


@pytest.mark.parametrize(
    "when",
    [
        lambda ticket, showtime: datetime(1, 1, 1, tzinfo=UTC),
        lambda ticket, showtime: ticket.sold_at - timedelta(minutes=1),
        lambda ticket, showtime: showtime.ends_at + timedelta(hours=7),
    ],
    ids=["year 1", "before it was sold", "long after the show"],
)
def test_an_offline_scan_at_a_time_that_cannot_be_right_is_refused_and_audited(
    door, showtime, paid, when
):
    """One such upload used to break the ticket for good: every later scan of it was a 500, the
    report crashed, and a far-past time won every conflict."""
    # Sold three days ago for a show two days ago (the upload comes late).
    ago = timezone.now() - timedelta(days=2)
    Showtime.objects.filter(pk=showtime.pk).update(
        starts_at=ago, ends_at=ago + (showtime.ends_at - showtime.starts_at)
    )
    showtime.refresh_from_db()
    Ticket.objects.update(sold_at=ago - timedelta(days=1))
    ticket = _ticket(paid, "A3")
    scan = _offline("scan-0001-aaaa", _code(ticket), when(ticket, showtime))
    response = _sync(door, showtime, [scan])
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert (result["status"], result["admitted"]) == ("bad_time", False)
    assert "cannot be right" in result["message"]
    refused = AuditEvent.objects.get(kind=Kind.CHECK_IN_REFUSED)
    assert refused.detail["outcome"] == "bad_time" and refused.detail["offline"] is True
    assert not CheckIn.objects.exists()
    # The ticket is as good as before: scanned at the door now, it is admitted.
    assert _scan(door, showtime, _code(ticket)).json()["admitted"] is True
    from django.core.management import call_command

    call_command("checkin_report", str(showtime.pk), stdout=StringIO())


def test_an_upload_sent_as_a_form_is_refused_not_a_server_error(door, showtime, paid):
    """The body of a form is read for its CSRF token first, so it cannot be read again."""
    response = door.post(f"/checkin/{showtime.pk}/sync/", {"scans": "[]"})
    assert response.status_code == 400 and "Send JSON" in response.json()["error"]


def test_checkin_report_lists_who_came_and_who_did_not(door, showtime, paid):
    import csv
    import io

    from django.core.management import call_command

    _scan(door, showtime, _code(_ticket(paid, "A3")))
    out = io.StringIO()
    call_command("checkin_report", str(showtime.pk), stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert {(row["seat"], row["status"]) for row in rows} == {
        ("A3", "in"),
        ("A4", "not in"),
        ("B1", "not in"),
    }
    assert rows[0]["booking"] == paid.ref and rows[0]["door"] in {"Door 2", ""}


def test_checkin_report_writes_what_anyone_typed_as_text(door, showtime, paid, staff_user):
    """An email, a door's name and a username are anybody's words: none runs as a formula."""
    import csv
    import io

    from django.core.management import call_command

    paid.user.__class__.objects.filter(pk=paid.user_id).update(email="=1+1@x.com")
    staff_user.__class__.objects.filter(pk=staff_user.pk).update(username="+staff")
    _scan(door, showtime, _code(_ticket(paid, "A3")), door="@SUM(A1)")
    out = io.StringIO()
    call_command("checkin_report", str(showtime.pk), stdout=out)
    row = next(csv.DictReader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert (row["email"], row["door"], row["staff"]) == ("'=1+1@x.com", "'@SUM(A1)", "'+staff")
    assert row["checked_in_at"].endswith((" GMT", " BST"))


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_twenty_doors_scanning_one_ticket_at_once_admit_it_once(showtime, user, staff_user):
    booking = pay(bookings.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    code = _code(_ticket(booking, "A3"))
    outcomes = at_once(
        lambda n: services.scan(
            showtime=showtime,
            code=code,
            door=services.Door(staff=staff_user, device=f"phone-{n}", door=f"Door {n}"),
        ),
        list(range(20)),
    )
    statuses = sorted(outcome.status for outcome in outcomes.values())
    assert statuses == ["admit"] + ["already"] * 19, outcomes
    assert CheckIn.objects.count() == 1


def test_an_exchanged_booking_s_old_codes_are_void_and_the_new_ones_admit(
    door, showtime, paid, user
):
    old = _code(_ticket(paid, "A3"))
    exchange = bookings.start_exchange(
        booking=paid, user=user, showtime=showtime, labels=["B3", "B4", "B5"]
    )
    bookings.confirm_exchange(booking=exchange)
    assert _scan(door, showtime, old).json()["message"] == "Void: exchanged"
    assert _scan(door, showtime, _code(_ticket(exchange, "B4"))).status_code == 200
