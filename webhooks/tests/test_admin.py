"""The back office's webhooks: the Manager role registers endpoints, reads each delivery with its
attempts and sends one again; anyone else is refused."""

import pytest
from django.contrib.auth.models import Group, Permission

from audit.models import AuditEvent
from audit.services import Kind, record
from conftest import verified_user
from webhooks.fanout import fan_out
from webhooks.models import Attempt, Delivery, Endpoint, EventType
from webhooks.tests.conftest import endpoint_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(showtime):
    endpoint = endpoint_for("https://tills.example.com/hooks/", description="The tills")
    event = record(Kind.BOOKING_CONFIRMED, showtime_id=showtime.pk, booking_ref="REF123")
    fan_out(event.as_message(), endpoints=[endpoint])
    delivery = Delivery.objects.get()
    Attempt.objects.create(delivery=delivery, status_code=503, response="Service Unavailable")
    Attempt.objects.create(delivery=delivery, error="no answer within 5 s")
    return delivery


def staff_in(client, *roles: str, permissions: tuple[str, ...] = ()):
    staff = verified_user(f"staff-{len(roles)}-{len(permissions)}", is_staff=True)
    for role in roles:
        staff.groups.add(Group.objects.get(name=role))
    for codename in permissions:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(staff)
    return staff


def test_a_manager_sees_endpoints_and_every_attempt_at_a_delivery(client, delivery):
    staff_in(client, "Manager")
    endpoints = client.get("/admin/webhooks/endpoint/")
    assert endpoints.status_code == 200
    assert "The tills" in endpoints.text and "1 pending, 0 failed" in endpoints.text
    page = client.get(f"/admin/webhooks/endpoint/{delivery.endpoint_id}/change/")
    assert page.status_code == 200 and delivery.endpoint.secret in page.text
    assert client.get("/admin/webhooks/endpoint/add/").status_code == 200

    deliveries = client.get(f"/admin/webhooks/delivery/?endpoint__id__exact={delivery.endpoint_id}")
    assert deliveries.status_code == 200
    assert "booking.confirmed" in deliveries.text and "Send again" in deliveries.text
    assert client.get("/admin/webhooks/delivery/?q=REF123").context["cl"].result_count == 1
    by_id = client.get(f"/admin/webhooks/delivery/?q={delivery.uuid}")
    assert by_id.context["cl"].result_count == 1
    detail = client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert detail.status_code == 200
    for shown in (str(delivery.uuid), "Service Unavailable", "503", "no answer within 5 s"):
        assert shown in detail.text


def test_a_manager_registers_an_endpoint_and_gets_a_secret(client):
    staff_in(client, "Manager")
    response = client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "url": "https://web.example.com/marquee/",
            "description": "The website",
            "types": [EventType.BOOKING_CONFIRMED, EventType.SHOWTIME_CHANGED],
            "secret": "",
            "active": "on",
        },
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.types == [EventType.BOOKING_CONFIRMED, EventType.SHOWTIME_CHANGED]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40


def test_send_again_is_a_managers_action_and_is_audited(client, delivery):
    manager = staff_in(client, "Manager")
    Delivery.objects.update(status=Delivery.Status.FAILED)
    response = client.post(
        "/admin/webhooks/delivery/",
        {"action": "send_again", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert AuditEvent.objects.get(kind=Kind.WEBHOOK_SENT_AGAIN).actor == manager


def test_reading_deliveries_is_not_sending_them_again(client, delivery):
    staff_in(client, permissions=("view_delivery",))
    page = client.get("/admin/webhooks/delivery/")
    assert page.status_code == 200 and "Send again" not in page.text
    Delivery.objects.update(status=Delivery.Status.FAILED)
    client.post(
        "/admin/webhooks/delivery/",
        {"action": "send_again", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


@pytest.mark.parametrize("role", [None, "Box office", "Programming", "Door"])
def test_staff_without_the_managers_permissions_are_refused(client, delivery, role):
    staff_in(client, *([role] if role else []))
    for path in (
        "/admin/webhooks/endpoint/",
        "/admin/webhooks/endpoint/add/",
        f"/admin/webhooks/endpoint/{delivery.endpoint_id}/change/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{delivery.pk}/change/",
    ):
        assert client.get(path).status_code == 403, (role, path)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
    ],
)
def test_an_endpoint_inside_the_network_is_refused_when_saved(client, settings, url):
    from webhooks.admin import EndpointForm

    settings.WEBHOOK_PRIVATE_ADDRESSES = False
    data = {"url": url, "types": ["booking.confirmed"], "active": "on", "secret": ""}
    form = EndpointForm(data=data)
    assert not form.is_valid()
    assert "private or local address" in form.errors["url"][0]
    settings.WEBHOOK_PRIVATE_ADDRESSES = True
    assert EndpointForm(data=data).is_valid(), EndpointForm(data=data).errors
    settings.WEBHOOK_PRIVATE_ADDRESSES = False
    public = EndpointForm(data={**data, "url": "https://hooks.example.org/marquee"})
    assert public.is_valid(), public.errors
