"""The one place allauth is customised: who gets the back office, and how failures are logged."""

import logging

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.http import Http404

from accounts.services import grant_admin

log = logging.getLogger(__name__)


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
