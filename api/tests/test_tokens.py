"""Personal API tokens: made in the back office and shown once, stored as a digest, refused when
unknown, revoked or expired, limited to their scopes and to what their owner's roles allow now,
rate limited per token, their last use recorded."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from api.auth import make_token
from api.models import ApiToken
from api.tests.problems import assert_problem
from bookings.models import Booking
from conftest import verified_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _in_role(username: str, role: str):
    person = verified_user(username, is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    return person


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_a_customer_token_holds_seats_with_no_session_and_no_csrf(user, showtime):
    _, raw = make_token(user=user, name="kiosk", scopes=["customer"])
    client = Client(enforce_csrf_checks=True)  # no cookie at all: the token is the way in
    held = client.post(
        f"{API}/showtimes/{showtime.pk}/holds",
        {"seats": ["A1"]},
        content_type="application/json",
        headers=_bearer(raw),
    )
    assert held.status_code == 201, held.content
    assert Booking.objects.get().user == user
    assert client.get(f"{API}/me", headers=_bearer(raw)).json()["username"] == "ann"


def test_only_the_digest_is_kept(user):
    token, raw = make_token(user=user, name="kiosk", scopes=["customer"])
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith("mq_") and len(raw) > 40
    assert raw not in (stored.digest, stored.prefix) and raw.startswith(stored.prefix)
    assert raw not in str(ApiToken.objects.values().get())


@pytest.mark.parametrize(
    "raw", ["mq_not-a-token", "nonsense", "mq_" + "x" * 500, "Bearer", "mq_²٣①"]
)
def test_an_unknown_token_is_a_401_even_with_a_session(user, raw):
    client = Client()
    client.force_login(user)  # a bad token is refused, not quietly replaced by the session
    assert_problem(client.get(f"{API}/me", headers=_bearer(raw)), 401, "token_refused")


def test_a_revoked_or_expired_token_is_refused(user):
    revoked, raw_revoked = make_token(user=user, name="old", scopes=["customer"])
    revoked.revoked_at = timezone.now()
    revoked.save()
    _, raw_expired = make_token(
        user=user,
        name="short",
        scopes=["customer"],
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    for raw, why in [(raw_revoked, "revoked"), (raw_expired, "expired")]:
        refused = Client().get(f"{API}/me", headers=_bearer(raw))
        assert why in assert_problem(refused, 401, "token_refused")["detail"]


def test_a_token_of_a_deactivated_user_is_refused(user):
    _, raw = make_token(user=user, name="kiosk", scopes=["customer"])
    user.is_active = False
    user.save()
    assert_problem(Client().get(f"{API}/me", headers=_bearer(raw)), 401, "token_refused")


def test_a_token_does_only_what_its_scopes_say(showtime):
    box_office = _in_role("till", "Box office")
    _, read_only = make_token(user=box_office, name="reports", scopes=["bookings:read"])
    assert Client().get(f"{API}/staff/bookings", headers=_bearer(read_only)).status_code == 200
    assert_problem(Client().get(f"{API}/me", headers=_bearer(read_only)), 403, "forbidden")
    refused = Client().post(
        f"{API}/staff/bookings/nope/refund",
        {"reason": "x"},
        content_type="application/json",
        headers=_bearer(read_only),
    )
    assert "bookings:refund" in assert_problem(refused, 403, "forbidden")["detail"]


def test_a_token_loses_what_its_owner_s_role_loses(showtime):
    box_office = _in_role("till", "Box office")
    _, raw = make_token(user=box_office, name="reports", scopes=["bookings:read"])
    box_office.groups.clear()
    assert_problem(Client().get(f"{API}/staff/bookings", headers=_bearer(raw)), 403, "forbidden")


def test_no_token_carries_more_than_its_owner_may(user):
    with pytest.raises(ValueError):
        make_token(user=user, name="greedy", scopes=["customer", "audit:read"])
    with pytest.raises(ValueError):
        make_token(user=user, name="nothing", scopes=[])


def test_last_use_is_recorded_at_most_once_a_minute(user, django_assert_num_queries):
    token, raw = make_token(user=user, name="kiosk", scopes=["customer"])
    Client().get(f"{API}/me", headers=_bearer(raw))
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    Client().get(f"{API}/me", headers=_bearer(raw))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_each_token_has_its_own_rate_limit(user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": (3, 60)}
    _, one = make_token(user=user, name="one", scopes=["customer"])
    _, two = make_token(user=user, name="two", scopes=["customer"])
    for _ in range(3):
        assert Client().get(f"{API}/me", headers=_bearer(one)).status_code == 200
    limited = Client().get(f"{API}/me", headers=_bearer(one))
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert Client().get(f"{API}/me", headers=_bearer(two)).status_code == 200


def test_the_session_is_rate_limited_per_user(user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": (2, 60)}
    client = Client()
    client.force_login(user)
    assert [client.get(f"{API}/me").status_code for _ in range(3)] == [200, 200, 429]


# The back office's page.


def test_staff_make_a_token_in_the_back_office_and_see_it_once(client):
    door = _in_role("gate", "Door")
    client.force_login(door)
    form = client.get("/admin/api/apitoken/add/")
    assert form.status_code == 200
    offered = form.content.decode()
    assert 'value="door"' in offered and 'value="customer"' in offered
    assert 'value="audit:read"' not in offered  # not the Door role's to give
    made = client.post("/admin/api/apitoken/add/", {"name": "gate 2", "scopes": ["door"]})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    token = ApiToken.objects.get()
    page = made.content.decode()
    raw = page.split('id="api-token-secret" type="text" readonly value="')[1][:46]
    assert raw.startswith(token.prefix) and (token.user, token.scopes) == (door, ["door"])
    assert raw not in client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert raw not in client.get("/admin/api/apitoken/").content.decode()
    too_much = client.post("/admin/api/apitoken/add/", {"name": "x", "scopes": ["audit:read"]})
    assert too_much.status_code == 200 and ApiToken.objects.count() == 1  # the form says no


def test_staff_see_and_revoke_only_their_own_tokens(client):
    door = _in_role("gate", "Door")
    other = _in_role("other", "Door")
    mine, raw = make_token(user=door, name="mine", scopes=["door"])
    theirs, _ = make_token(user=other, name="theirs", scopes=["door"])
    client.force_login(door)
    listing = client.get("/admin/api/apitoken/").content.decode()
    assert "mine" in listing and "theirs" not in listing
    assert client.get(f"/admin/api/apitoken/{theirs.pk}/change/").status_code == 302
    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert_problem(Client().get(f"{API}/me", headers=_bearer(raw)), 401, "token_refused")


def test_a_customer_cannot_reach_the_token_page(client, user):
    client.force_login(user)
    assert client.get("/admin/api/apitoken/add/").status_code == 302  # to the admin's login
