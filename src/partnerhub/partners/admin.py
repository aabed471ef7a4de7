from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from partnerhub.core.admin import ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.partners import services
from partnerhub.partners.models import (
    Contact,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerUser,
    StatusChange,
    TrackMembership,
)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


class TrackMembershipInline(admin.TabularInline):
    model = TrackMembership
    extra = 0


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    extra = 0
    raw_id_fields = ["user"]


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "reason", "author", "changed_at"]

    def has_add_permission(self, request, obj=None):
        return False  # status changes go through the status actions (reason required)


@admin.register(Partner)
class PartnerAdmin(ScopedAdmin):
    partner_field = "self"
    list_display = ["display_name", "legal_name", "country", "status", "partner_manager", "parent"]
    list_filter = ["status", "country", "track_memberships__track_key", "partner_manager"]
    search_fields = ["display_name", "legal_name", "vat_id", "duns", "website_domain"]
    raw_id_fields = ["parent", "partner_manager"]
    readonly_fields = ["status", "created_at", "updated_at"]
    inlines = [ContactInline, TrackMembershipInline, PartnerUserInline, StatusChangeInline]
    actions = ["activate", "suspend", "terminate"]

    def save_model(self, request, obj, form, change):
        data = {f: getattr(obj, f) for f in form.changed_data if f in services.PROFILE_FIELDS}
        for field in ("parent", "partner_manager"):
            if field in form.changed_data:
                data[f"{field}_id"] = getattr(obj, f"{field}_id")
        if "allow_user_invitations" in form.changed_data:
            data["allow_user_invitations"] = obj.allow_user_invitations
        try:
            if change:
                saved = services.partner_update(actor=request.user, partner=obj, data=data)
            else:
                data = {f: getattr(obj, f) for f in services.PROFILE_FIELDS}
                data |= {
                    "parent_id": obj.parent_id,
                    "partner_manager_id": obj.partner_manager_id,
                    "allow_user_invitations": obj.allow_user_invitations,
                }
                saved = services.partner_create(actor=request.user, data=data)
            obj.pk = saved.pk
        except (ValidationError, ServiceError) as exc:
            raise ValidationError(getattr(exc, "message", None) or exc.messages) from None

    def _set_status(self, request, queryset, status):
        reason = f"Changed in back office by {request.user.email}"
        for partner in queryset:
            if not request.user.has_perm("partners.change_partner_status", partner):
                self.message_user(request, f"{partner}: not allowed.", messages.ERROR)
                continue
            try:
                services.partner_set_status(
                    actor=request.user, partner=partner, status=status, reason=reason
                )
            except ServiceError as exc:
                self.message_user(request, f"{partner}: {exc.message}", messages.ERROR)

    @admin.action(description="Activate selected partners")
    def activate(self, request, queryset):
        self._set_status(request, queryset, "active")

    @admin.action(description="Suspend selected partners")
    def suspend(self, request, queryset):
        self._set_status(request, queryset, "suspended")

    @admin.action(description="Terminate selected partners")
    def terminate(self, request, queryset):
        self._set_status(request, queryset, "terminated")


@admin.register(Contact)
class ContactAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ["name", "role", "email", "phone", "partner"]
    list_filter = ["role"]
    search_fields = ["name", "email", "partner__display_name"]
    raw_id_fields = ["partner"]


@admin.register(Invitation)
class InvitationAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ["email", "partner", "role", "state", "created_at", "expires_at"]
    search_fields = ["email", "partner__display_name"]
    readonly_fields = [
        "partner",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_user",
        "revoked_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(ScopedAdmin):
    list_display = ["legal_name", "country", "program", "track_key", "status", "created_at"]
    list_filter = ["status", "program"]
    search_fields = ["legal_name", "contact_email"]
    readonly_fields = ["status", "decided_by", "decided_at", "partner"]
    actions = ["approve"]

    @admin.action(description="Approve selected applications")
    def approve(self, request, queryset):
        for application in queryset:
            try:
                services.application_approve(actor=request.user, application=application)
            except (ServiceError, ValidationError) as exc:
                self.message_user(request, f"{application}: {exc}", messages.ERROR)


@admin.register(StatusChange)
class StatusChangeAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ["partner", "from_status", "to_status", "author", "changed_at"]
    list_filter = ["to_status"]
    readonly_fields = ["partner", "from_status", "to_status", "reason", "author", "changed_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
