"""Our checkout page for a PaymentIntent: Stripe.js takes the card in Stripe's own frame and
confirms the intent (3-D Secure included) in the page; the buyer then goes back to the booking's
return page, which waits for the webhook. Card details never reach this site.

The page is at a signed address (`gateway.checkout_path`), as it carries the intent's client
secret, which only the buyer may have.
"""

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from payments.gateway import GatewayError
from payments.stripe import gateway
from payments.stripe.money import from_minor

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@never_cache
@require_GET
def checkout(request, token: str):
    intent_id = gateway.intent_of(token)
    if intent_id is None:
        raise Http404("No such checkout page.")
    try:
        intent = gateway.checkout_intent(intent_id)
    except GatewayError:
        return render(request, "stripe_gateway/unavailable.html", status=503)
    metadata = intent.get("metadata") or {}
    if intent["status"] == "succeeded":
        return _see_other(metadata.get("return_url") or "/")
    context = {
        "amount": _display(from_minor(intent["amount"], intent["currency"]), intent["currency"]),
        "back_url": metadata.get("cancel_url") or "/",
    }
    if intent["status"] == "canceled":
        return render(request, "stripe_gateway/expired.html", context, status=410)
    context |= {
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js": settings.STRIPE_JS_URL,
        "client_secret": intent["client_secret"],
        "return_url": metadata.get("return_url") or "/",
    }
    return render(request, "stripe_gateway/checkout.html", context)


def _display(amount, currency: str) -> str:
    currency = currency.upper()
    if symbol := SYMBOLS.get(currency):
        return f"{symbol}{amount:,}"
    return f"{amount:,} {currency}"


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
