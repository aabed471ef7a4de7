"""Back office for market development funds: read-only records. Every change goes through
the services (API, portal and console), so the ledger and the documents never disagree."""

from django.contrib import admin

from partnerhub.core.admin import ReadOnlyMixin as ReadOnly
from partnerhub.core.admin import ScopedAdmin
from partnerhub.mdf.models import MdfAllocation, MdfClaim, MdfExpiryRun, MdfProof, MdfRequest


class ProofInline(ReadOnly, admin.TabularInline):
    model = MdfProof
    extra = 0
    fields = ("name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields


@admin.register(MdfAllocation)
class MdfAllocationAdmin(ReadOnly, ScopedAdmin):
    partner_field = "partner"
    list_display = ("partner", "program", "quarter_start", "amount_minor", "currency", "created_by")
    list_filter = ("program", "currency")
    search_fields = ("partner__display_name", "reason")
    list_select_related = ("partner", "program", "created_by")


@admin.register(MdfRequest)
class MdfRequestAdmin(ReadOnly, ScopedAdmin):
    partner_field = "partner"
    list_display = (
        "reference",
        "title",
        "partner",
        "status",
        "budget_minor",
        "requested_minor",
        "approved_minor",
        "currency",
        "starts_on",
    )
    list_filter = ("status", "activity_type", "program")
    search_fields = ("title", "partner__display_name")
    list_select_related = ("partner",)


@admin.register(MdfClaim)
class MdfClaimAdmin(ReadOnly, ScopedAdmin):
    partner_field = "partner"
    list_display = (
        "id",
        "request",
        "partner",
        "status",
        "actual_cost_minor",
        "reimbursed_minor",
        "currency",
        "submitted_at",
    )
    list_filter = ("status",)
    list_select_related = ("partner", "request")
    inlines = [ProofInline]


@admin.register(MdfExpiryRun)
class MdfExpiryRunAdmin(ReadOnly, ScopedAdmin):
    list_display = ("program", "period_start", "period_end", "partners", "created_at")
