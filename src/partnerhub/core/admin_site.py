"""The back office's admin site: Django's, plus the optional TOTP second factor.

A staff member with a confirmed TOTP device who has only passed the password step is sent to
the code page before the admin opens (the portal and the API apply the same rule).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import reverse


class PartnerHubAdminSite(admin.AdminSite):
    site_header = "PartnerHub back office"
    site_title = "PartnerHub"
    index_title = "Partner program administration"

    def has_permission(self, request):
        from partnerhub.portal.access import needs_second_factor

        return super().has_permission(request) and not needs_second_factor(request.user)

    def login(self, request, extra_context=None):
        from partnerhub.portal.access import needs_second_factor

        if request.user.is_authenticated and needs_second_factor(request.user):
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")
        return super().login(request, extra_context)


class PartnerHubAdminConfig(AdminConfig):
    default_site = "partnerhub.core.admin_site.PartnerHubAdminSite"
