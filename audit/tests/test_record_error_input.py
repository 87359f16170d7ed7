"""Recording an error never fails on what the error carries: PostgreSQL stores no NUL character
and no unpaired surrogate in text or JSON, so they are written out as escapes instead."""

import pytest
from django.test import Client
from django.urls import path

from audit.models import AuditEvent
from audit.services import record_error


def view_failing_on_a_nul(request):
    raise ValueError(f"no booking {request.GET['ref'].upper()}\x00 here")


urlpatterns = [path("lookup/", view_failing_on_a_nul)]
handler500 = "infra.errors.server_error"


@pytest.mark.django_db
def test_a_message_and_context_with_a_nul_are_recorded():
    event = record_error(
        "test", ValueError("ref a\x00b"), path="/bookings/\x00/", **{"odd\x00key": ["x\x00"]}
    )
    assert event is not None
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.detail == {
        "where": "test",
        "error": "ValueError",
        "message": "ref a\\x00b",
        "path": "/bookings/\\x00/",
        "odd\\x00key": ["x\\x00"],
    }


@pytest.mark.django_db
def test_unpaired_surrogates_and_other_controls_are_recorded():
    event = record_error("test", UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad \udcff\x1b[31m"))
    assert event is not None
    message = AuditEvent.objects.get(pk=event.pk).detail["message"]
    assert "\\udcff" in message and "\\x1b[31m" in message
    assert "\x00" not in message and "\x1b" not in message


@pytest.mark.django_db
def test_context_that_is_not_json_is_recorded_as_text():
    event = record_error("test", ValueError("boom"), when=object, ratio=float("nan"), n=3)
    assert event is not None
    detail = AuditEvent.objects.get(pk=event.pk).detail
    assert detail["when"] == "<class 'object'>"
    assert detail["ratio"] == "nan" and detail["n"] == 3


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_view_error_carrying_a_nul_is_recorded(settings):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/lookup/", {"ref": "ab"})
    assert response.status_code == 500
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.SYSTEM_ERROR)
    assert event.detail["message"] == "no booking AB\\x00 here"
    assert event.request_id == response["X-Request-ID"]
