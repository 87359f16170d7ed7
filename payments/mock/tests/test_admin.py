import pytest
from django.urls import reverse

from payments.mock import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["mocksession", "mockrefund", "mockwebhook"])
def test_staff_can_look_at_the_providers_ledger_and_change_nothing(staff, new_session, model):
    session = new_session()
    services.pay_session(session_id=session.id)
    services.refund_session(session_id=session.id, amount=1, idempotency_key="r1")
    assert staff.get(reverse(f"admin:mock_gateway_{model}_changelist")).status_code == 200
    assert staff.get(reverse(f"admin:mock_gateway_{model}_add")).status_code == 403
    row = {"mocksession": session.id}.get(model)
    if row:
        page = staff.get(reverse(f"admin:mock_gateway_{model}_change", args=[row]))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
