"""Back office for deal registrations: read-only records (every change goes through the
workflow services), with an action approving selected submitted registrations that have
priority. Reviews with overrides and reasons happen in the API (and the console)."""

from django.contrib import admin, messages

from partnerhub.core.admin import ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.deals import services
from partnerhub.deals.models import (
    DealConflict,
    DealExtension,
    DealProduct,
    DealRegistration,
    DealStatusChange,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class ProductInline(ReadOnlyInline):
    model = DealProduct


class HistoryInline(ReadOnlyInline):
    model = DealStatusChange


class ConflictInline(ReadOnlyInline):
    model = DealConflict
    fk_name = "registration"


class ExtensionInline(ReadOnlyInline):
    model = DealExtension


@admin.register(DealRegistration)
class DealRegistrationAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = (
        "reference",
        "customer_name",
        "customer_country",
        "partner",
        "status",
        "flagged",
        "submitted_at",
        "protected_until",
    )
    list_filter = ("status", "flagged", "source", "program")
    search_fields = ("customer_name", "name_norm", "domain_key", "partner__display_name")
    list_select_related = ("partner", "program")
    inlines = [ProductInline, ConflictInline, HistoryInline, ExtensionInline]
    actions = ["approve_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(
            "deals.view_dealregistration", obj.partner if obj else None
        ) or (obj is None and request.user.is_staff)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Approve selected submitted registrations that have priority")
    def approve_selected(self, request, queryset):
        done = 0
        for reg in queryset.select_related("partner"):
            if not request.user.has_perm("deals.review_dealregistration", reg.partner):
                self.message_user(request, f"{reg.reference}: not yours to review.", messages.ERROR)
                continue
            try:
                services.registration_approve(registration=reg, approved_by=request.user)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{reg.reference}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Approved {done} registration(s).", messages.SUCCESS)
