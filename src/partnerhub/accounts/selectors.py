"""Reads for people."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.accounts.models import ApiToken, User


def user_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def user_token_get(*, user: User, token_id: int) -> ApiToken:
    return get_object_or_404(user_tokens(user=user), pk=token_id)


def user_list(
    *, fetched_by: User, staff_role: str | None = None, q: str | None = None
) -> QuerySet[User]:
    """All users, for program admins only (others get an empty list)."""
    if not fetched_by.has_perm("accounts.add_user"):
        return User.objects.none()
    qs = User.objects.select_related("partner_membership").order_by("email")
    if staff_role:
        qs = qs.filter(staff_role=staff_role)
    if q:
        qs = qs.filter(email__icontains=q)
    return qs
