"""Roles: everyone is a customer; the back office is for staff, who are also superusers here."""

import logging

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db.models import Q

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
