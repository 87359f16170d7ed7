"""The provider's hosted payment page: the buyer types a card, the ledger records the outcome."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from payments.gateway import SessionStatus
from payments.mock import cards, services
from payments.mock.models import MockSession


@require_http_methods(["GET", "POST"])
def checkout(request, session_id: str):
    session = _session_or_404(session_id)
    if session.status != SessionStatus.OPEN:
        return _not_open(request, session)
    if request.method == "GET":
        return _render_checkout(request, session)
    values = {name: request.POST.get(name, "") for name in ("card", "exp", "cvc")}
    check = cards.check_card(**values, today=timezone.localdate())
    if check.errors:
        return _render_checkout(request, session, values=values, errors=check.errors, status=400)
    card = cards.known_card(check.number)
    if card and card.authenticate:
        return _see_other(reverse("mock_gateway:authenticate", args=[session.id]))
    if card and card.decline:
        return _decline(request, session, reason=card.decline, values=values)
    return _not_open(request, services.pay_session(session_id=session.id, origin=_origin(request)))


@require_http_methods(["GET", "POST"])
def authenticate(request, session_id: str):
    """The bank's confirmation step (3D Secure), with the test outcome to choose."""
    session = _session_or_404(session_id)
    if session.status != SessionStatus.OPEN:
        return _not_open(request, session)
    context = {"session": session, **_page(session)}
    if request.method == "GET":
        return render(request, "mock_gateway/authenticate.html", context)
    outcome = request.POST.get("outcome")
    if outcome == "complete":
        session = services.pay_session(session_id=session.id, origin=_origin(request))
        return _not_open(request, session)
    if outcome == "fail":
        return _decline(request, session, reason=cards.AUTHENTICATION_FAILED)
    return render(request, "mock_gateway/authenticate.html", context, status=400)


def _session_or_404(session_id: str) -> MockSession:
    return services.expire_if_due(get_object_or_404(MockSession, pk=session_id))


def _decline(request, session: MockSession, *, reason: str, values=None):
    session = services.fail_payment(session_id=session.id, reason=reason, origin=_origin(request))
    if session.status != SessionStatus.OPEN:
        return _not_open(request, session)
    values = {**(values or {}), "cvc": ""}
    return _render_checkout(request, session, values=values, decline=reason, status=402)


def _not_open(request, session: MockSession):
    """A paid session sends the buyer back to the merchant; an expired one says so."""
    if session.status == SessionStatus.PAID:
        return _see_other(session.return_url)
    return render(request, "mock_gateway/expired.html", _page(session), status=410)


def _render_checkout(request, session, *, values=None, errors=None, decline="", status=200):
    values = values or {}
    context = {
        "session": session,
        **_page(session),
        # The security code is never sent back to the browser.
        "values": {"card": values.get("card", ""), "exp": values.get("exp", "")},
        "errors": errors or {},
        "decline": decline,
        "known_cards": cards.KNOWN_CARDS,
    }
    return render(request, "mock_gateway/checkout.html", context, status=status)


def _page(session: MockSession) -> dict:
    return {
        "merchant": settings.CINEMA_NAME,
        "amount": services.display_amount(session.amount, session.currency),
    }


def _origin(request) -> str:
    """The scheme and host the buyer is on: a webhook URL that is a path is sent there."""
    return f"{request.scheme}://{request.get_host()}"


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
