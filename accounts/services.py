"""Roles: everyone is a customer; the back office is for staff, who are also superusers here."""

import logging
from importlib import import_module
from io import BytesIO
from urllib.parse import urlsplit

from allauth.account.internal.flows import email_verification
from allauth.account.models import EmailAddress
from allauth.core import context
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.messages.storage import default_storage
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.db.models import Q
from django.http import HttpRequest

log = logging.getLogger(__name__)


class UnknownEmail(Exception):
    """No single user owns the email."""


def grant_admin(*, user: AbstractUser) -> bool:
    """Give the user the back office; saved at once unless the user is not stored yet."""
    if user.is_staff and user.is_superuser:
        return False
    user.is_staff = user.is_superuser = True
    if user.pk is not None:
        user.save(update_fields=["is_staff", "is_superuser"])
    log.info("back office granted to user %s", user.pk or "(new)")
    return True


def promote_admin(*, email: str) -> AbstractUser:
    """Grant the back office to the one user whose account or sign-in address is `email`."""
    users = list(
        get_user_model()
        .objects.filter(Q(email__iexact=email) | Q(emailaddress__email__iexact=email))
        .distinct()[:2]
    )
    if not users:
        raise UnknownEmail(f"No user has the email {email!r}; they must sign up or sign in first.")
    if len(users) > 1:
        raise UnknownEmail(f"More than one user has the email {email!r}; promote them in /admin/.")
    grant_admin(user=users[0])
    return users[0]


def has_verified_email(*, user: AbstractUser) -> bool:
    """Whether someone vouched for the user's address: a confirmed link, or Google's word."""
    return EmailAddress.objects.filter(user=user, verified=True).exists()


# Where a customer who was asked to confirm their address goes once they have (an hour at most).
RETURN_SECONDS = 3600


def _return_key(user_id: int) -> str:
    return f"accounts:return-after-verification:{user_id}"


def ask_to_verify(*, user: AbstractUser, return_to: str) -> str:
    """Send the user a link to confirm their address (allauth rate limits it) and remember to
    bring them back to `return_to` once they have opened it; returns the address it went to.
    Any client may ask: allauth makes the link from a request, made here for SITE_URL."""
    return_after_verifying(user_id=user.pk, url=return_to)
    request = _site_request(user)
    with context.request_context(request):
        email_verification.send_verification_email_for_user(request, user)
    return user.email


def _site_request(user: AbstractUser) -> HttpRequest:
    """A request to SITE_URL by `user`, for code that builds links from one."""
    site = urlsplit(settings.SITE_URL)
    secure = site.scheme == "https"
    request = WSGIRequest(
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/",
            "wsgi.input": BytesIO(),
            "wsgi.url_scheme": site.scheme or "http",
            "SERVER_NAME": site.hostname or "localhost",
            "SERVER_PORT": str(site.port or (443 if secure else 80)),
            "HTTP_HOST": site.netloc or "localhost",
        }
    )
    request.user = user
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    # allauth also says "link sent" as a message; the page or the API that asked says it itself.
    request._messages = default_storage(request)
    return request


def return_after_verifying(*, user_id: int, url: str) -> None:
    """Bring the customer back to `url` (a path on this site) when they open the link."""
    cache.set(_return_key(user_id), url, RETURN_SECONDS)


def return_after_verification(*, user_id: int) -> str | None:
    """The page a customer asked to confirm their address was on, once (then it is forgotten)."""
    url = cache.get(_return_key(user_id))
    cache.delete(_return_key(user_id))
    return url
