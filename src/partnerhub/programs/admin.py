from django.contrib import admin
from rules.contrib.admin import ObjectPermissionsModelAdmin

from partnerhub.programs.models import Program, ProgramVersion, Tier, Track


class ReadOnlyAdmin(ObjectPermissionsModelAdmin):
    """Program versions are immutable: load a new version instead of editing one."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0
    fields = ["rank", "key", "name", "gate", "requirements", "benefits"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class VersionInline(admin.TabularInline):
    model = ProgramVersion
    extra = 0
    fields = ["number", "name", "effective_from", "currency", "loaded_by", "loaded_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "created_at"]
    inlines = [VersionInline]


@admin.register(ProgramVersion)
class ProgramVersionAdmin(ReadOnlyAdmin):
    list_display = ["program", "number", "name", "effective_from", "currency", "loaded_at"]
    list_filter = ["program"]
    readonly_fields = [
        "program",
        "number",
        "name",
        "currency",
        "fiscal_year_start_month",
        "fiscal_year_start_day",
        "effective_from",
        "policies",
        "product_categories",
        "source_yaml",
        "content_hash",
        "loaded_by",
        "loaded_at",
    ]
    exclude = ["definition"]


@admin.register(Track)
class TrackAdmin(ReadOnlyAdmin):
    list_display = ["name", "key", "version"]
    list_filter = ["version__program"]
    inlines = [TierInline]
