"""A signed-in customer through the API: the hold service's rules refuse here as on the pages,
with the same codes (problem+json); another's booking is not found; the session needs CSRF."""

from typing import get_args

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from api.schemas import DeviceKind
from api.tests.problems import assert_problem
from audit.models import AuditEvent
from bookings.models import Booking
from cinema.models import AccessDevice
from conftest import open_waiting_room
from waitingroom import services as waiting_room

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _hold(client, showtime, **body):
    return client.post(
        f"{API}/showtimes/{showtime.pk}/holds", body, content_type="application/json"
    )


def test_signed_out_is_a_401(client, showtime):
    assert_problem(client.get(f"{API}/me"), 401, "not_signed_in")
    assert_problem(_hold(client, showtime, seats=["A1"]), 401, "not_signed_in")
    assert_problem(client.get(f"{API}/bookings"), 401, "not_signed_in")


def test_me(user):
    me = _signed_in(user).get(f"{API}/me").json()
    assert (me["username"], me["email_confirmed"], me["staff"]) == ("ann", True, False)


def test_a_post_with_the_session_needs_its_csrf_token(user, showtime):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert_problem(_hold(client, showtime, seats=["A1"]), 403, "forbidden")
    assert not Booking.objects.exists()
    token = "k" * 32  # the CSRF cookie's secret, as a page would have set it
    client.cookies["csrftoken"] = token
    held = client.post(
        f"{API}/showtimes/{showtime.pk}/holds",
        {"seats": ["A1"]},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert held.status_code == 201


def test_hold_then_read_then_cancel(user, showtime):
    client = _signed_in(user)
    held = _hold(client, showtime, seats=["A1", "A2"])
    assert held.status_code == 201
    booking = held.json()
    assert (booking["status"], booking["seats"], booking["amount"]) == (
        "pending",
        ["A1", "A2"],
        "20.00",
    )
    assert booking["expires_at"]
    detail = client.get(f"{API}/bookings/{booking['ref']}").json()
    assert {key: detail[key] for key in booking} == booking
    assert [(t["seat"], t["type"], t["price"], t["code"]) for t in detail["tickets"]] == [
        ("A1", "Adult", "10.00", None),
        ("A2", "Adult", "10.00", None),
    ]
    assert [b["ref"] for b in client.get(f"{API}/bookings").json()] == [booking["ref"]]
    cancelled = client.post(f"{API}/bookings/{booking['ref']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["booking"]["status"] == "cancelled"
    assert cancelled.json()["refunded"] is None


def test_best_available(user, showtime):
    held = _hold(_signed_in(user), showtime, best=2)
    assert held.status_code == 201 and len(held.json()["seats"]) == 2


def test_the_services_rules_refuse_with_their_codes(user, bob, showtime):
    ann, other = _signed_in(user), _signed_in(bob)
    assert _hold(ann, showtime, seats=["A1"]).status_code == 201
    taken = assert_problem(_hold(other, showtime, seats=["A1", "A2"]), 409, "seats_unavailable")
    assert taken["conflicts"] == ["A1"]
    # The nearest two standard seats side by side free now, offered (not held).
    assert taken["offer"] == {"seats": ["B1", "B2"], "category": "standard", "price": "10.00"}
    assert_problem(_hold(other, showtime, seats=["A1"], best=1), 400, "invalid_request")
    assert_problem(_hold(other, showtime, seats=["Z99"]), 400, "invalid_request")
    assert_problem(_hold(other, showtime, best=11), 400, "invalid_request")
    assert_problem(_hold(other, showtime), 400, "invalid_request")
    assert_problem(_hold(other, showtime, seats="A1"), 400, "invalid_request")
    assert_problem(
        other.post(f"{API}/showtimes/{showtime.pk}/holds", "{", content_type="application/json"),
        400,
        "invalid_request",
    )
    assert_problem(_hold(other, type("S", (), {"pk": 999999})(), seats=["A1"]), 404, "not_found")


def test_another_users_booking_is_not_found(user, bob, showtime):
    ref = _hold(_signed_in(user), showtime, seats=["A1"]).json()["ref"]
    other = _signed_in(bob)
    assert_problem(other.get(f"{API}/bookings/{ref}"), 404, "not_found")
    assert_problem(other.post(f"{API}/bookings/{ref}/cancel"), 404, "not_found")
    assert Booking.objects.get(ref=ref).status == Booking.Status.PENDING


def test_an_unconfirmed_address_is_sent_the_link(showtime, settings):
    settings.HOLD_REQUIRES_VERIFIED_EMAIL = True
    unconfirmed = get_user_model().objects.create_user("cal", "cal@example.com", "pw-1234567")
    body = assert_problem(
        _hold(_signed_in(unconfirmed), showtime, seats=["A1"]), 403, "verification_required"
    )
    assert "cal@example.com" in body["detail"]
    assert [message.to for message in mail.outbox] == [["cal@example.com"]]


def test_the_waiting_room_needs_its_pass(user, showtime):
    open_waiting_room(showtime)
    client = _signed_in(user)
    assert_problem(_hold(client, showtime, seats=["A1"]), 403, "waiting_room_required")
    entry = waiting_room.enter(showtime=showtime, member=f"u{user.pk}", token="", arrived_ms=None)
    waiting_room.admit_pass()
    let_in = waiting_room.enter(
        showtime=showtime, member=f"u{user.pk}", token=entry.cookie, arrived_ms=None
    )
    held = client.post(
        f"{API}/showtimes/{showtime.pk}/holds",
        {"seats": ["A1"]},
        content_type="application/json",
        headers={"X-Waiting-Room-Pass": let_in.cookie},
    )
    assert held.status_code == 201


def test_too_many_holds_is_a_429_with_retry_after(user, showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (2, 60)}
    client = _signed_in(user)
    for _ in range(2):
        _hold(client, showtime, seats=["A1"])
    refused = _hold(client, showtime, seats=["A1"])
    assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_paying_through_the_api_confirms_once_the_provider_says_so(user, showtime, client):
    from conftest import deliver_webhooks, pay_on_gateway

    buyer = _signed_in(user)
    ref = _hold(buyer, showtime, seats=["A1"]).json()["ref"]

    def pay(body):
        return buyer.post(f"{API}/bookings/{ref}/pay", body, content_type="application/json")

    assert_problem(pay({"total": "3.00"}), 409, "price_changed")
    started = pay({"total": "10.00"})
    assert started.status_code == 201 and started.json()["booking"]["status"] == "pending"
    assert pay_on_gateway(buyer, started.json()["url"]).status_code == 303
    deliver_webhooks(client)
    assert buyer.get(f"{API}/bookings/{ref}").json()["status"] == "confirmed"
    assert_problem(pay({}), 409, "booking_closed")


def test_an_idempotent_retry_gets_the_first_answer_and_changes_nothing(user, showtime):
    client = _signed_in(user)

    def hold(key: str, seats: list[str]):
        return client.post(
            f"{API}/showtimes/{showtime.pk}/holds",
            {"seats": seats},
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )

    first = hold("k-1", ["A1"])
    assert first.status_code == 201
    again = hold("k-1", ["A1"])
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1
    assert_problem(hold("k-1", ["A2"]), 409, "idempotency_key_reused")
    assert Booking.objects.get().seat_labels == ["A1"]
    # A refusal before the operation ran is not kept: the same key then runs.
    assert_problem(hold("k-2", ["Z99"]), 400, "invalid_request")
    assert hold("k-2", ["A1", "A2"]).status_code == 201
    assert_problem(hold("x" * 256, ["A1"]), 400, "invalid_request")


def test_the_same_key_of_another_user_is_theirs(user, bob, showtime):
    for who, seat in ((user, "A1"), (bob, "A2")):
        response = _signed_in(who).post(
            f"{API}/showtimes/{showtime.pk}/holds",
            {"seats": [seat]},
            content_type="application/json",
            headers={"Idempotency-Key": "same"},
        )
        assert response.status_code == 201 and response.json()["seats"] == [seat]


def test_answers_older_than_a_day_are_forgotten_a_batch_at_a_time(user):
    from datetime import timedelta

    from django.utils import timezone

    from api.idempotency import KEEP, forget_old
    from api.models import IdempotentRequest

    for n in range(5):
        IdempotentRequest.objects.create(user=user, key=f"old-{n}", fingerprint="x", status=201)
    IdempotentRequest.objects.update(created_at=timezone.now() - KEEP - timedelta(minutes=1))
    IdempotentRequest.objects.create(user=user, key="fresh", fingerprint="x", status=201)
    assert forget_old(limit=3) == 3
    assert forget_old(limit=3) == 2
    assert forget_old(limit=3) == 0
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["fresh"]


def test_a_device_is_borrowed_and_given_back_through_the_api(user, bob, showtime):
    """The pages' service and its codes: the stock never over-lent, one per seat, only on
    one's own booking; the showtime says what is left."""
    AccessDevice.objects.create(auditorium=showtime.auditorium, kind="audio_description", stock=1)
    ann = _signed_in(user)
    ref = _hold(ann, showtime, seats=["A1", "A2"]).json()["ref"]
    stock = f"{API}/showtimes/{showtime.pk}/devices"
    assert ann.get(stock).json() == [
        {"kind": "audio_description", "name": "Audio-description headset", "left": 1}
    ]
    devices = f"{API}/bookings/{ref}/devices"

    def add(client, kind, path=devices):
        return client.post(path, {"kind": kind}, content_type="application/json")

    added = add(ann, "audio_description")
    assert added.status_code == 201
    (device,) = added.json()["devices"]
    assert device["kind"] == "audio_description" and device["returned"] is False
    assert ann.get(f"{API}/bookings/{ref}").json()["devices"] == [device]
    assert ann.get(stock).json()[0]["left"] == 0

    bobs = _hold(_signed_in(bob), showtime, seats=["B1"]).json()["ref"]
    taken = add(_signed_in(bob), "audio_description", f"{API}/bookings/{bobs}/devices")
    assert_problem(taken, 409, "device_unavailable")
    assert_problem(add(ann, "captions"), 409, "device_unavailable")
    assert_problem(add(ann, "jetpack"), 400, "invalid_request")
    assert_problem(add(_signed_in(bob), "audio_description"), 404, "not_found")
    assert_problem(ann.delete(f"{devices}/{device['id'] + 1}"), 400, "invalid_request")
    assert_problem(_signed_in(bob).delete(f"{devices}/{device['id']}"), 404, "not_found")

    removed = ann.delete(f"{devices}/{device['id']}")
    assert removed.status_code == 200 and removed.json()["devices"] == []
    assert ann.get(stock).json()[0]["left"] == 1
    assert_problem(ann.delete(f"{devices}/{device['id']}"), 400, "invalid_request")
    kinds = AuditEvent.objects.filter(kind__startswith="device").values_list("kind", flat=True)
    assert list(kinds.order_by("pk")) == ["device_added", "device_removed"]


def test_the_api_names_the_device_kinds_the_halls_lend():
    assert get_args(DeviceKind) == tuple(AccessDevice.Kind.values)
