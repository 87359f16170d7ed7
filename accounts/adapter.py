"""The one place allauth is customised: who gets the back office, how failed sign-ins are
counted, how failures are logged, whose name and address its emails carry, and what a customer
is called."""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import get_next_redirect_url
from allauth.core.internal.ratelimit import get_ip
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts.services import grant_admin, return_after_verification, return_after_verifying

log = logging.getLogger(__name__)

# The links allauth puts in its emails' context, absolute on the request's Host.
EMAIL_LINKS = ("activate_url", "password_reset_url", "signup_url")


@dataclass(frozen=True)
class PublicSite:
    """What allauth's email templates read as `current_site`."""

    name: str
    domain: str


def public_url(url: str) -> str:
    """`url` (absolute or a path) on SITE_URL, the origin moviegoers reach the site at."""
    parts = urlsplit(url)
    return settings.SITE_URL + urlunsplit(("", "", parts.path, parts.query, parts.fragment))


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _(
            "Too many failed sign-ins for this email from your network. Try again in a few minutes."
        ),
    }

    def _get_login_attempts_cache_key(self, request, **credentials):
        # allauth keys the failed sign-in limit (ACCOUNT_RATE_LIMITS "login_failed", per "key")
        # on the email alone, so anyone who knows an email could lock its owner out from
        # anywhere. Keyed on the client address (as the per-"ip" limits count it) and the email,
        # guesses lock out only the address that makes them. Password reset clears the same key.
        return f"{get_ip(request)}:{super()._get_login_attempts_cache_key(request, **credentials)}"

    def render_mail(self, template_prefix, email, context, headers=None):
        # allauth names the site and builds its links from the request's Host: the bare host:port
        # locally, an internal address behind a proxy. Its emails carry the cinema's name and
        # SITE_URL instead, as the booking emails do.
        context = {
            **context,
            "current_site": PublicSite(
                name=settings.CINEMA_NAME, domain=urlsplit(settings.SITE_URL).netloc
            ),
            **{key: public_url(context[key]) for key in EMAIL_LINKS if context.get(key)},
        }
        return super().render_mail(template_prefix, email, context, headers=headers)

    def send_confirmation_mail(self, request, emailconfirmation, signup):
        # A sign-up started on the way somewhere (the seats picked on a showtime: `next`)
        # comes back there from the link, whichever browser opens it; allauth would go home.
        if signup and (url := get_next_redirect_url(request)):
            return_after_verifying(user_id=emailconfirmation.email_address.user_id, url=url)
        super().send_confirmation_mail(request, emailconfirmation, signup)

    def get_email_verification_redirect_url(self, email_address):
        # Back to the seats a customer picked when we asked them to confirm their address.
        url = return_after_verification(user_id=email_address.user_id)
        if url is None:
            return super().get_email_verification_redirect_url(email_address)
        if self.request.user.is_authenticated:
            return url
        return f"{reverse('account_login')}?{urlencode({'next': url})}"


def display_name(user) -> str:
    """How the site and allauth's messages and emails name a customer (ACCOUNT_USER_DISPLAY):
    their name, else their email. The username is made up at sign-up and means nothing to them."""
    return user.get_full_name() or user.email or user.get_username()


def has_verified_admin_email(sociallogin: SocialLogin) -> bool:
    """Whether the provider vouches for an address listed in ADMIN_EMAILS."""
    return any(
        address.verified and address.email.lower() in settings.ADMIN_EMAILS
        for address in sociallogin.email_addresses
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            # Without GOOGLE_CLIENT_ID there is no Google sign-in: its URLs are not found.
            raise Http404(f"{provider} sign-in is not configured") from None

    def pre_social_login(self, request, sociallogin):
        # Runs on every Google sign-in, first or returning, before anyone is logged in; a new
        # user is saved later with the flags set here.
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            return
        if has_verified_admin_email(sociallogin):
            grant_admin(user=sociallogin.user)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        # The exception text can quote the provider's response: log its type only.
        log.warning(
            "%s sign-in failed: %s%s",
            provider.id,
            error,
            f" ({type(exception).__name__})" if exception else "",
        )
