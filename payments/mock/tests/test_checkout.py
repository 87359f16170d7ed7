"""The hosted payment page: what the buyer sees, and what each card does to the ledger."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments.mock.models import MockSession, MockWebhook

pytestmark = pytest.mark.django_db

NEXT_YEAR = f"12/{(timezone.localdate().year + 1) % 100:02d}"


def _pay(client, session, *, card="4242 4242 4242 4242", exp=NEXT_YEAR, cvc="123"):
    return client.post(session.url, {"card": card, "exp": exp, "cvc": cvc})


def _events(session) -> list[tuple[str, str]]:
    return [
        (event.type, event.body)
        for event in MockWebhook.objects.filter(session_id=session.id).order_by("created_at")
    ]


def _types(session) -> list[str]:
    return [event_type for event_type, _ in _events(session)]


def _row(session) -> MockSession:
    return MockSession.objects.get(pk=session.id)


def test_the_page_is_the_providers_test_mode_checkout(client, new_session, settings):
    session = new_session()
    response = client.get(session.url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "TEST MODE: no real money moves" in re.sub(r"<[^>]+>", "", page)
    assert f"Pay {settings.CINEMA_NAME}" in page
    assert "£12.50" in page
    assert "Pay £12.50</button>" in page
    assert 'autocomplete="cc-number"' in page and 'inputmode="numeric"' in page
    assert 'autocomplete="cc-exp"' in page and 'autocomplete="cc-csc"' in page
    assert '<label for="card">' in page and '<label for="exp">' in page
    assert '<a href="/bookings/ABC123/?cancelled=1">Cancel and go back</a>' in page
    assert "4000 0025 0000 3155" in page
    assert page.count("<h1") == 1 and '<html lang="en">' in page and "<main" in page
    # The site's CSP allows no inline script or style.
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("currency", ["EUR", "USD", "CHF"])
def test_the_amount_is_shown_in_the_sessions_currency(client, new_session, currency):
    page = client.get(new_session(currency=currency).url).content.decode()
    assert {"EUR": "€12.50", "USD": "$12.50", "CHF": "12.50 CHF"}[currency] in page


def test_an_unknown_session_is_404(client, db):
    assert client.get("/mock-gateway/checkout/cs_test_nope/").status_code == 404


def test_a_good_card_pays_and_goes_back_to_the_merchant(client, new_session):
    session = new_session()
    response = _pay(client, session)
    assert response.status_code == 303
    assert response["Location"] == "/bookings/ABC123/"
    assert _types(session) == ["payment.succeeded"]
    row = _row(session)
    assert row.status == "paid"
    assert row.charge.startswith("ch_test_")


def test_any_other_valid_card_number_pays(client, new_session):
    session = new_session()
    assert _pay(client, session, card="5555 5555 5555 4444").status_code == 303
    assert _row(session).status == "paid"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
    ],
)
def test_a_declined_card_says_why_and_the_session_stays_open(client, new_session, card, message):
    session = new_session()
    response = _pay(client, session, card=card)
    assert response.status_code == 402
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert _row(session).status == "open"
    [(event_type, body)] = _events(session)
    assert event_type == "payment.failed"
    assert f'"reason": "{message}"' in body

    assert _pay(client, session).status_code == 303
    assert _types(session) == ["payment.failed", "payment.succeeded"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"card": "4242 4242"}, "card", "Your card number is incomplete."),
        ({"card": "4242 4242 4242 4241"}, "card", "Your card number is invalid."),
        ({"exp": "12/"}, "exp", "Your card&#x27;s expiration date is incomplete."),
        ({"exp": "01/20"}, "exp", "Your card&#x27;s expiration year is in the past."),
        ({"cvc": "12"}, "cvc", "Your card&#x27;s security code is incomplete."),
    ],
)
def test_bad_details_are_400_tied_to_their_field_and_record_nothing(
    client, new_session, fields, field, message
):
    session = new_session()
    response = _pay(client, session, **fields)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="field__error" id="{field}-error">{message}</p>' in page
    tag = re.search(rf'<input id="{field}"[^>]*>', page)[0]
    assert 'aria-invalid="true"' in tag
    assert f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', tag)[1]
    assert 'role="alert"' in page and f'href="#{field}"' in page
    assert _events(session) == []
    assert _row(session).status == "open"


def test_the_security_code_is_never_sent_back(client, new_session):
    response = _pay(client, new_session(), card="4242", cvc="987")
    assert response.status_code == 400
    page = response.content.decode()
    # In no field's value (the page's random tokens could spell 987 anywhere else).
    assert 'value="4242"' in page
    assert not [value for value in re.findall(r'value="([^"]*)"', page) if "987" in value]
    assert "value=" not in re.search(r'<input[^>]*name="cvc"[^>]*>', page)[0]
    assert not [said for said in re.findall(r"<p[^>]*>([^<]*)</p>", page) if "987" in said]


def test_authentication_completed_pays(client, new_session):
    session = new_session()
    response = _pay(client, session, card="4000 0025 0000 3155")
    assert response.status_code == 303
    assert response["Location"] == f"{session.url}authenticate/"
    assert _events(session) == []

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Your bank asks you to confirm this payment of £12.50" in page.content.decode()

    done = client.post(response["Location"], {"outcome": "complete"})
    assert done.status_code == 303
    assert done["Location"] == "/bookings/ABC123/"
    assert _types(session) == ["payment.succeeded"]


def test_authentication_failed_declines_back_on_the_checkout_page(client, new_session):
    session = new_session()
    response = client.post(f"{session.url}authenticate/", {"outcome": "fail"})
    assert response.status_code == 402
    page = response.content.decode()
    assert "We are unable to authenticate your payment method." in page
    assert f'action="{session.url}"' in page
    assert _types(session) == ["payment.failed"]
    assert _row(session).status == "open"


def test_authentication_without_an_outcome_is_400(client, new_session):
    session = new_session()
    assert client.post(f"{session.url}authenticate/", {}).status_code == 400
    assert _events(session) == []


def test_a_paid_session_goes_back_to_the_merchant_and_records_nothing_more(client, new_session):
    session = new_session()
    _pay(client, session)
    assert client.get(session.url).status_code == 303
    again = _pay(client, session)
    assert again.status_code == 303
    assert again["Location"] == "/bookings/ABC123/"
    declined = _pay(client, session, card="4000 0000 0000 0002")
    assert declined.status_code == 303
    assert client.post(f"{session.url}authenticate/", {"outcome": "fail"}).status_code == 303
    assert _types(session) == ["payment.succeeded"]


def test_paying_twice_keeps_the_first_charge(client, new_session):
    session = new_session()
    _pay(client, session)
    charge = _row(session).charge
    _pay(client, session)
    assert _row(session).charge == charge


def test_an_expired_session_shows_it_has_expired_and_cannot_be_paid(client, new_session):
    session = new_session()
    MockSession.objects.filter(pk=session.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(session.url)
    assert response.status_code == 410
    assert "This payment page has expired" in response.content.decode()
    assert _pay(client, session).status_code == 410
    assert client.post(f"{session.url}authenticate/", {"outcome": "complete"}).status_code == 410
    assert _types(session) == ["session.expired"]
    assert _row(session).status == "expired"


def test_the_form_needs_its_csrf_token(new_session):
    session = new_session()
    response = _pay(Client(enforce_csrf_checks=True), session)
    assert response.status_code == 403
    assert _events(session) == []
