"""The staff back office: bookings admin, the audit trail, live holds, the feed and System."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent, AuditEventChanged
from audit.services import Kind, record
from audit.tests.conftest import kinds
from bookings import services
from bookings.models import Booking, Ticket
from cinema.models import Movie, Voucher
from cinema.services import one_price_list, schedule_showtime
from conftest import pay
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/bookings/booking/"


@pytest.fixture
def sales(showtime, auditorium, user, bob):
    """Ann paid for A3 tonight-ish; Bob holds B2; Bob paid for a different film next week."""
    other_film = Movie.objects.create(title="Other Film", slug="other-film", runtime_minutes=90)
    later = schedule_showtime(
        movie=other_film,
        auditorium=auditorium,
        starts_at=timezone.now() + timedelta(days=7),
        price_list=one_price_list(Decimal("8.00")),
    )
    ann_paid = pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))
    bob_held = services.hold_seats(user=bob, showtime=showtime, labels=["B2"])
    bob_later = pay(services.hold_seats(user=bob, showtime=later, labels=["A1"]))
    return {"ann_paid": ann_paid, "bob_held": bob_held, "bob_later": bob_later, "later": later}


def _midnight(moment):
    """The start of the day as the admin's date filter links give it (aware, local)."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _refs(response) -> set[str]:
    return {booking.ref for booking in response.context["cl"].result_list}


def test_booking_filters_and_search_return_the_right_rows(staff, sales, showtime, bob):
    ann, held, later = sales["ann_paid"], sales["bob_held"], sales["bob_later"]
    assert _refs(staff.get(CHANGELIST)) == {ann.ref, held.ref, later.ref}
    assert _refs(staff.get(CHANGELIST, {"status__exact": "pending"})) == {held.ref}
    movie = sales["later"].movie
    assert _refs(staff.get(CHANGELIST, {"showtime__movie__id__exact": movie.pk})) == {later.ref}
    assert _refs(staff.get(CHANGELIST, {"user__id__exact": bob.pk})) == {held.ref, later.ref}
    by_date = staff.get(CHANGELIST, {"showtime_date": "tomorrow"})
    assert _refs(by_date) == {ann.ref, held.ref}
    assert _refs(staff.get(CHANGELIST, {"q": ann.ref})) == {ann.ref}
    assert _refs(staff.get(CHANGELIST, {"q": "bob@example.com"})) == {held.ref, later.ref}


def _csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel reads UTF-8 with it
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_of_selected_rows(staff, sales):
    ann = sales["ann_paid"]
    response = staff.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [ann.pk], "index": 0}
    )
    (row,) = _csv_rows(response)
    assert (row["ref"], row["status"], row["email"], row["seats"], row["amount"]) == (
        ann.ref,
        "confirmed",
        "ann@example.com",
        "A3",
        "10.00",
    )


def test_csv_export_writes_what_anyone_typed_as_text(staff, sales, user):
    """A voucher code, the gateway's reference and an email are anybody's text: none runs as a
    formula when the file is opened in a spreadsheet."""
    ann = sales["ann_paid"]
    voucher = Voucher.objects.create(code="-1+1", kind="amount", value=Decimal("1.00"))
    Booking.objects.filter(pk=ann.pk).update(voucher=voucher, payment_ref="=cmd")
    user.__class__.objects.filter(pk=user.pk).update(email="@x.com")
    response = staff.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [ann.pk], "index": 0}
    )
    (row,) = _csv_rows(response)
    assert (row["voucher"], row["payment_ref"], row["email"]) == ("'-1+1", "'=cmd", "'@x.com")
    assert row["starts_at"].endswith((" GMT", " BST"))


def test_csv_export_of_all_filtered_rows(staff, sales, bob):
    response = staff.post(
        f"{CHANGELIST}?user__id__exact={bob.pk}",
        {
            "action": "export_csv",
            "select_across": "1",
            "_selected_action": [sales["bob_held"].pk],
            "index": 0,
        },
    )
    assert {row["ref"] for row in _csv_rows(response)} == {
        sales["bob_held"].ref,
        sales["bob_later"].ref,
    }


def test_cancel_and_refund_action_asks_first_then_goes_through_the_service(
    staff, sales, staff_user, showtime
):
    ann, held = sales["ann_paid"], sales["bob_held"]
    chosen = {"action": "cancel_and_refund", "_selected_action": [ann.pk, held.pk], "index": 0}
    asked = staff.post(CHANGELIST, chosen)
    assert asked.status_code == 200
    assert f"refund £{ann.amount}" in asked.content.decode()
    # Nothing happens until the staff member confirms with a reason.
    no_reason = staff.post(CHANGELIST, {**chosen, "confirm": "yes", "why": "  "})
    assert no_reason.status_code == 400
    assert not Booking.objects.filter(status=Booking.Status.CANCELLED).exists()

    response = staff.post(CHANGELIST, {**chosen, "confirm": "yes", "why": "Projector broken"})

    assert response.status_code == 302
    assert set(
        Booking.objects.filter(pk__in=[ann.pk, held.pk]).values_list("status", flat=True)
    ) == {Booking.Status.CANCELLED}
    assert not Ticket.objects.filter(booking=ann).exists()
    assert holds.held_labels(showtime_id=showtime.pk, labels=["B2"]) == {}
    released = AuditEvent.objects.filter(kind=Kind.SEATS_RELEASED)
    assert {(e.booking_ref, e.actor_id) for e in released} == {
        (ann.ref, staff_user.pk),
        (held.ref, staff_user.pk),
    }
    assert released.get(booking_ref=ann.ref).detail["refunded"] is True
    assert {e.detail["staff_reason"] for e in released} == {"Projector broken"}


def test_booking_page_shows_its_tickets_and_audit_trail(staff, sales):
    ann = sales["ann_paid"]
    page = staff.get(f"{CHANGELIST}{ann.pk}/change/").content.decode()
    for kind in ("Hold placed", "Payment started", "Booking confirmed"):
        assert kind in page
    assert "A3" in page  # the ticket inline
    assert kinds(ann.ref) == [
        Kind.HOLD_PLACED,
        Kind.PAYMENT_STARTED,
        Kind.HOLD_EXTENDED,
        Kind.BOOKING_CONFIRMED,
    ]


def test_audit_admin_filters_by_kind_and_searches_by_ref_and_user(staff, sales, user):
    url = "/admin/audit/auditevent/"
    confirmed = staff.get(url, {"kind__exact": Kind.BOOKING_CONFIRMED}).context["cl"].result_list
    assert {event.booking_ref for event in confirmed} == {
        sales["ann_paid"].ref,
        sales["bob_later"].ref,
    }
    by_ref = staff.get(url, {"q": sales["ann_paid"].ref}).context["cl"].result_list
    assert [event.kind for event in by_ref] == [
        Kind.BOOKING_CONFIRMED,
        Kind.HOLD_EXTENDED,
        Kind.PAYMENT_STARTED,
        Kind.HOLD_PLACED,
    ]
    by_user = staff.get(url, {"q": user.email}).context["cl"].result_list
    assert {event.actor_id for event in by_user} == {user.pk}
    today = _midnight(timezone.localtime())
    dated = staff.get(
        url, {"occurred_at__gte": str(today), "occurred_at__lt": str(today + timedelta(days=1))}
    )
    assert len(dated.context["cl"].result_list) == AuditEvent.objects.count()


def test_an_audit_event_cannot_be_changed_or_deleted(staff, staff_user):
    event = record(Kind.SYSTEM_ERROR, detail={"where": "test"})
    url = f"/admin/audit/auditevent/{event.pk}/change/"
    page = staff.get(url)
    assert page.status_code == 200 and b'name="kind"' not in page.content  # view only
    assert staff.post(url, {"kind": Kind.HOLD_PLACED, "detail": "{}"}).status_code == 403
    assert (
        staff.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert staff.get("/admin/audit/auditevent/add/").status_code == 403
    event.kind = Kind.HOLD_PLACED
    with pytest.raises(AuditEventChanged):
        event.save()
    with pytest.raises(AuditEventChanged):
        event.delete()
    with pytest.raises(AuditEventChanged):
        AuditEvent.objects.filter(pk=event.pk).update(kind=Kind.HOLD_PLACED)
    with pytest.raises(AuditEventChanged):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).kind == Kind.SYSTEM_ERROR
    assert not site._registry[AuditEvent].has_change_permission(
        type("Request", (), {"user": staff_user})()
    )


def test_live_holds_lists_holders_and_releases_through_the_service(staff, sales, showtime, bob):
    held = sales["bob_held"]
    index = staff.get(reverse("live_holds"))
    assert index.status_code == 200 and showtime.movie.title in index.content.decode()
    page = staff.get(reverse("live_holds_showtime", args=[showtime.pk]))
    (live,) = page.context["holds"]
    assert live.seats == ["B2"] and live.booking.user == bob
    assert 0 < live.seconds_left <= 300
    assert "bob@example.com" in page.content.decode()
    response = staff.post(
        reverse("live_holds_release", args=[showtime.pk]), {"token": held.hold_token}
    )
    assert response.status_code == 303
    assert Booking.objects.get(pk=held.pk).status == Booking.Status.CANCELLED
    assert holds.held_labels(showtime_id=showtime.pk, labels=["B2"]) == {}
    assert kinds(held.ref)[-1] == Kind.SEATS_RELEASED
    assert staff.post(reverse("live_holds_release", args=[showtime.pk])).status_code == 400


def test_system_page_shows_stream_and_consumer_group(staff, sales, notifier, settings):
    notifier.run_once()
    settings.BUILD_VERSION = "abc1234"
    page = staff.get(reverse("system_status"))
    context = page.context
    assert context["database_up"] and context["redis_up"]
    assert context["stream"]["length"] == AuditEvent.objects.count()
    (group,) = context["stream"]["groups"]
    assert group["name"] == "notifier" and group["pending"] == 0 and group["lag"] == 0
    assert "abc1234" in page.content.decode()


STAFF_PAGES = [
    ("get", "/admin/live-holds/"),
    ("get", "/admin/live-holds/{showtime}/"),
    ("post", "/admin/live-holds/{showtime}/release/"),
    ("get", "/admin/audit-feed/"),
    ("get", "/admin/system/"),
    ("get", "/admin/audit/auditevent/"),
    ("get", "/admin/bookings/booking/"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_PAGES)
def test_non_staff_are_denied_every_staff_page(client, user, sales, showtime, method, path):
    url = path.format(showtime=showtime.pk)
    held = sales["bob_held"]
    anonymous = getattr(client, method)(url, {"token": held.hold_token})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(user)
    signed_in = getattr(client, method)(url, {"token": held.hold_token})
    assert signed_in.status_code in (302, 403)
    if signed_in.status_code == 302:
        assert "/login/" in signed_in["Location"]
    assert Booking.objects.get(pk=held.pk).status == Booking.Status.PENDING
