"""Who is calling the API, and what they may do there.

Two ways in: the browser's session (Django's login, with its CSRF token on every POST), and a
personal API token (`Authorization: Bearer mq_…`) that staff make in the back office. A token
carries scopes, each tied to a permission of the staff roles (SCOPES): a call needs the scope on
the token and the permission on its owner now, so a role taken away takes the token's power with
it. A session has its user's permissions. DESIGN.md, Staff roles: never `is_staff` alone.

Every signed-in call counts against a rate limit per token, or per user for a session (the
"api" entry of settings.RATE_LIMITS): past it, a 429 with `Retry-After`.
"""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer, SessionAuth

from api.models import ApiToken
from bookings.ratelimit import check_rate

PREFIX = "mq_"
# scope -> (the permission it needs, "" for none; what it lets a token do)
SCOPES = {
    "customer": ("", "its owner's own holds, bookings and payments"),
    "bookings:read": ("bookings.view_booking", "read bookings, their audit trails, live holds"),
    "bookings:refund": ("bookings.change_booking", "refund bookings"),
    "audit:read": ("audit.view_auditevent", "read the audit feed"),
    "door": ("checkin.use_door", "scan tickets at the door"),
    "waiting_room:read": ("cinema.view_showtime", "read the waiting rooms' figures"),
}
# A token's last use is written at most this often (not on every call).
LAST_USE_EVERY = timedelta(minutes=1)


class TokenRefused(AuthenticationError):
    """A bearer token that is unknown, revoked or expired: 401, and no other way in is tried."""

    code = "token_refused"

    def __init__(self, message: str):
        super().__init__(401, message)


def allowed_scopes(user) -> list[str]:
    """The scopes a token of this user may carry: those whose permission the user has."""
    return [scope for scope, (perm, _) in SCOPES.items() if not perm or user.has_perm(perm)]


def make_token(*, user, name: str, scopes: list[str], expires_at=None) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never kept (only its digest is)."""
    token = ApiToken(user=user, name=name, scopes=scopes, expires_at=expires_at)
    return token, issue(token)


def issue(token: ApiToken) -> str:
    """Save a new token (its user, name, scopes and expiry set) with a fresh secret; returns the
    secret, the one time it exists outside the caller's hands."""
    beyond = set(token.scopes) - set(allowed_scopes(token.user))
    if not token.scopes or beyond:
        raise ValueError(f"Scopes not allowed for {token.user}: {sorted(beyond) or 'none'}")
    raw = PREFIX + secrets.token_urlsafe(32)
    token.prefix = raw[: len(PREFIX) + 6]
    token.digest = _digest(raw)
    token.scopes = sorted(token.scopes)
    token.save()
    return raw


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer(request) -> str | None:
    """The bearer token the request carries, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def token_of(request, raw: str) -> ApiToken:
    """The request's token, found once per request; TokenRefused unless it is usable now."""
    if getattr(request, "api_token", None) is None:
        token = None
        if raw.startswith(PREFIX) and len(raw) <= 100:
            token = ApiToken.objects.select_related("user").filter(digest=_digest(raw)).first()
        now = timezone.now()
        if token is None or not token.user.is_active:
            raise TokenRefused("This API token is not known.")
        if token.revoked_at is not None:
            raise TokenRefused("This API token has been revoked.")
        if token.expires_at is not None and token.expires_at <= now:
            raise TokenRefused("This API token has expired.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USE_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.api_token = token
    return request.api_token


def caller(request):
    """The signed-in user behind the request (by token or session), or None; for what runs
    before the API's own authentication (the idempotency keys)."""
    raw = bearer(request)
    if raw is not None:
        try:
            return token_of(request, raw).user
        except TokenRefused:
            return None
    return request.user if request.user.is_authenticated else None


def _may(user, scope: str) -> None:
    perm = SCOPES[scope][0]
    if perm and not user.has_perm(perm):
        raise AuthorizationError(403, f"Your role may not {SCOPES[scope][1]}.")


class Token(HttpBearer):
    """A personal API token with `scope`."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def authenticate(self, request, token: str):
        found = token_of(request, token)
        if self.scope not in found.scopes:
            raise AuthorizationError(
                403, f"This token lacks the scope {self.scope!r} (to {SCOPES[self.scope][1]})."
            )
        _may(found.user, self.scope)
        check_rate(action="api", who=f"token-{found.pk}")
        return found.user


class Session(SessionAuth):
    """The browser's session, with its CSRF token; the user needs the permission `scope` does."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            _may(user, self.scope)
            check_rate(user=user, action="api")
        return user


def signed_in(scope: str) -> list:
    """The ways in for an operation needing `scope`: a token first, then the session."""
    return [Token(scope), Session(scope)]
