from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from rules.contrib.admin import ObjectPermissionsModelAdmin

from partnerhub.accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(ObjectPermissionsModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "staff_role", "is_staff", "is_active", "last_login"]
    list_filter = ["staff_role", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "staff_role", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "staff_role",
                    "is_staff",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal: list[str] = []


@admin.register(ApiToken)
class ApiTokenAdmin(ObjectPermissionsModelAdmin):
    list_display = [
        "name",
        "user",
        "key_id",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__email", "key_id"]
    readonly_fields = ["user", "name", "key_id", "created_at", "last_used_at", "expires_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are created by their owner through the API (the secret is shown once)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from partnerhub.accounts.services import api_token_revoke

        for token in queryset:
            api_token_revoke(token=token)
