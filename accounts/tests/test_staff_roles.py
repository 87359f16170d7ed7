"""Staff act by role: every staff URL and the staff WebSocket check a permission, never is_staff
alone. Walked as a staff account with no permissions (403 everywhere) and as each role."""

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission
from django.urls import get_resolver

from bookings import services
from config.asgi import application
from conftest import pay, verified_user
from tests.websocket import ORIGIN, session_cookie

ROLES = ("Door", "Box office", "Programming", "Manager")
DOOR, BOX_OFFICE, PROGRAMMING, MANAGER = ({role} for role in ROLES)

# (method, path, the roles that may): every staff page of our own and the model pages.
STAFF_URLS = [
    ("GET", "/checkin/", DOOR),
    ("GET", "/checkin/{st}/", DOOR),
    ("POST", "/checkin/{st}/scan/", DOOR),
    ("GET", "/checkin/{st}/tickets.json", DOOR),
    ("GET", "/checkin/{st}/counts.json", DOOR),
    ("POST", "/checkin/{st}/undo/", DOOR),
    ("POST", "/checkin/{st}/sync/", DOOR),
    ("POST", "/checkin/{st}/devices/return/", DOOR),
    ("GET", "/admin/live-holds/", BOX_OFFICE),
    ("GET", "/admin/live-holds/{st}/", BOX_OFFICE),
    ("POST", "/admin/live-holds/{st}/release/", BOX_OFFICE),
    ("GET", "/admin/bookings/booking/", BOX_OFFICE),
    ("GET", "/admin/bookings/payment/", BOX_OFFICE),
    ("GET", "/admin/bookings/refund/", BOX_OFFICE),
    ("GET", "/admin/bookings/ticket/", BOX_OFFICE),
    ("GET", "/admin/bookings/waitlist/", BOX_OFFICE),
    ("GET", "/admin/bookings/waitlistentry/", BOX_OFFICE),
    ("GET", "/admin/bookings/screeningchange/", BOX_OFFICE | PROGRAMMING),
    ("GET", "/admin/cinema/movie/", PROGRAMMING),
    ("GET", "/admin/cinema/auditorium/", PROGRAMMING),
    ("GET", "/admin/cinema/showtime/", PROGRAMMING),
    ("GET", "/admin/cinema/tickettype/", PROGRAMMING),
    ("GET", "/admin/cinema/pricelist/", PROGRAMMING),
    ("GET", "/admin/cinema/voucher/", PROGRAMMING),
    ("GET", "/admin/cinema/venue/", PROGRAMMING),
    ("GET", "/admin/cinema/venue/1/change/", PROGRAMMING),
    ("GET", "/admin/waiting-room/", PROGRAMMING),
    ("GET", "/admin/waiting-room/{st}/", PROGRAMMING),
    ("POST", "/admin/waiting-room/{st}/", PROGRAMMING),
    ("GET", "/admin/sales/", MANAGER),
    ("GET", "/admin/sales/{st}/", MANAGER),
    ("GET", "/admin/audit-feed/", MANAGER),
    ("GET", "/admin/system/", MANAGER),
    ("GET", "/admin/audit/auditevent/", MANAGER),
    ("GET", "/admin/webhooks/endpoint/", MANAGER),
    ("GET", "/admin/webhooks/delivery/", MANAGER),
]
# Named routes of our own staff pages (beside the model admin): each must be walked above.
OURS = {
    "live_holds",
    "live_holds_showtime",
    "live_holds_release",
    "audit_feed",
    "system_status",
    "sales_day",
    "sales_showtime",
    "waiting_rooms",
    "waiting_room",
}
NOT_STAFF = {"checkin:service_worker"}


@pytest.fixture
def sold(showtime, user):
    return pay(services.hold_seats(user=user, showtime=showtime, labels=["A3"]))


def _as(client, role: str | None):
    staff = verified_user(f"staff-{role or 'none'}".replace(" ", "-"), is_staff=True)
    if role:
        staff.groups.add(Group.objects.get(name=role))
    client.force_login(staff)
    return staff


def _call(client, method: str, path: str, showtime) -> int:
    path = path.format(st=showtime.pk)
    if method == "GET":
        return client.get(path).status_code
    data = {"token": "nobody", "ticket": "1", "action": "pause", "code": "x"}
    return client.post(path, data, headers={"Accept": "application/json"}).status_code


def _route_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if getattr(pattern, "name", None):
            names.add(f"{namespace}{pattern.name}")
        if hasattr(pattern, "url_patterns") and getattr(pattern, "namespace", None) != "admin":
            inner = f"{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern.url_patterns, inner)
    return names


def test_every_staff_page_of_ours_is_walked():
    names = _route_names(get_resolver().url_patterns)
    walked_checkin = {path for _, path, _ in STAFF_URLS if path.startswith("/checkin/")}
    assert names >= OURS
    assert len(walked_checkin) == len({n for n in names if n.startswith("checkin:")} - NOT_STAFF)


def test_a_staff_account_without_a_role_is_refused_everywhere(client, showtime, sold):
    _as(client, None)
    refused = {path: _call(client, method, path, showtime) for method, path, _ in STAFF_URLS}
    assert refused == dict.fromkeys(refused, 403)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_its_pages_and_no_others(client, showtime, sold, role):
    _as(client, role)
    for method, path, roles in STAFF_URLS:
        status = _call(client, method, path, showtime)
        if role in roles:
            assert status != 403, (role, method, path)
        else:
            assert status == 403, (role, method, path, status)


def test_the_roles_are_groups_a_migration_made(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    for role in ROLES:
        assert Group.objects.get(name=role).permissions.exists(), role


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("permission", "allowed"),
    [(None, False), ("bookings.view_booking", False), ("audit.view_auditevent", True)],
)
async def test_the_live_audit_feed_needs_the_permission_to_read_the_audit_trail(
    permission, allowed
):
    """(By permission: a transactional test's database is emptied between tests, and with it the
    groups the migration made; the walk above covers the roles.)"""
    from asgiref.sync import sync_to_async

    def staff_with(permission):
        staff = verified_user("feed-reader", is_staff=True)
        if permission:
            app_label, codename = permission.split(".")
            staff.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return staff

    staff = await sync_to_async(staff_with)(permission)
    feed = WebsocketCommunicator(
        application, "/ws/staff/audit/", headers=[ORIGIN, await session_cookie(staff)]
    )
    connected, _ = await feed.connect()
    assert connected
    if allowed:
        assert await feed.receive_nothing(timeout=0.3)
    else:
        assert (await feed.receive_output())["code"] == 4403
    await feed.disconnect()
