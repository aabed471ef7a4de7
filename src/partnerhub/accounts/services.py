"""Writes for people: API tokens."""

from __future__ import annotations

import datetime as dt
import hmac
import re

from django.db import transaction
from django.utils import timezone

from partnerhub.accounts.models import TOKEN_PREFIX, ApiToken, User, hash_token_secret
from partnerhub.core.errors import ServiceError


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token; return it and the secret token string (shown once)."""
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)  # read in the default time zone (UTC)
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError("The expiry must lie in the future.", field="expires_at")
    key_id, secret, full = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        key_id=key_id,
        secret_hash=hash_token_secret(secret),
        expires_at=expires_at,
    )
    return token, full


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def login_throttle_username(request, credentials: dict | None) -> str | None:
    """The name django-axes counts failed logins under (AXES_USERNAME_CALLABLE).

    Users log in with their e-mail in any letter case (the lookup is case-insensitive), so
    the count must not be split by case: "Admin@x" and "admin@x" are one account."""
    from django.conf import settings

    if credentials:
        value = credentials.get(settings.AXES_USERNAME_FORM_FIELD) or credentials.get("email")
    else:
        data = getattr(request, "data", None) or request.POST
        value = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return value.strip().lower() if isinstance(value, str) else value


def api_token_authenticate(raw: str) -> User | None:
    """Return the active user owning the token string, or None. Records last use."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    # Key ids are hex (see ApiToken.generate); anything else, e.g. a NUL byte that PostgreSQL
    # refuses in a query (a 500), cannot match.
    if not re.fullmatch(r"[0-9a-f]{1,16}", parts[1]):
        return None
    token = ApiToken.objects.select_related("user").filter(key_id=parts[1]).first()
    if token is None or not token.is_usable():
        return None
    if not hmac.compare_digest(token.secret_hash, hash_token_secret(parts[2])):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
