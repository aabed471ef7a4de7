"""Shared admin building blocks: every model admin asks the permission layer."""

from __future__ import annotations

from rules.contrib.admin import ObjectPermissionsModelAdmin


class ScopedAdmin(ObjectPermissionsModelAdmin):
    """Admin whose rows are limited to what the permission layer lets the user see."""

    def get_queryset(self, request):
        from partnerhub.core.permissions import visible_partners

        qs = super().get_queryset(request)
        field = getattr(self, "partner_field", None)
        if field is None:
            return qs
        visible = visible_partners(request.user)
        if field == "self":
            return qs.filter(pk__in=visible.values("pk"))
        return qs.filter(**{f"{field}__in": visible.values("pk")})


class ReadOnlyMixin:
    """No add, change or delete in the back office: the services (API, portal, console) make
    every change, so their checks and side effects always apply."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
