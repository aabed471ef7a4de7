"""Back office for incentives: read-only. The ledger is append-only (a correction is a new
entry, made through the API or console by finance), runs, closes, campaigns, claims,
elections and customer payments are written by their services only."""

from django.contrib import admin

from partnerhub.core.admin import ReadOnlyMixin as NoWrites
from partnerhub.core.admin import ScopedAdmin
from partnerhub.incentives.models import (
    AccrualRun,
    CustomerPayment,
    LedgerEntry,
    PayoutRun,
    RebateClose,
    ReferralElection,
    SpiffCampaign,
    SpiffClaim,
)


class ReadOnlyMixin(NoWrites):
    """No add, change or delete: every field is shown read-only."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class StaffViewMixin(ReadOnlyMixin):
    view_perm = ""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.view_perm)

    def has_module_permission(self, request):
        return request.user.has_perm(self.view_perm)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StaffViewMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "incentives.view_ledgerentry"
    list_display = (
        "id",
        "partner",
        "kind",
        "entry_type",
        "amount_minor",
        "currency",
        "booked_on",
        "payable",
        "source_type",
        "source_id",
    )
    list_filter = ("kind", "entry_type", "payable", "currency", "source_type")
    search_fields = ("partner__display_name", "memo")
    date_hierarchy = "booked_on"
    list_select_related = ("partner",)
    show_full_result_count = False


@admin.register(ReferralElection)
class ReferralElectionAdmin(StaffViewMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "incentives.view_referralelection"
    list_display = ("partner", "program", "choice", "effective_from", "elected_by", "created_at")
    list_filter = ("choice",)
    search_fields = ("partner__display_name",)
    list_select_related = ("partner", "program", "elected_by")


@admin.register(SpiffClaim)
class SpiffClaimAdmin(StaffViewMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "incentives.view_spiffclaim"
    list_display = ("id", "campaign", "partner", "activity_on", "status", "decided_at")
    list_filter = ("status",)
    search_fields = ("partner__display_name", "campaign__name", "activity")
    list_select_related = ("campaign", "partner")


@admin.register(CustomerPayment)
class CustomerPaymentAdmin(StaffViewMixin, ScopedAdmin):
    partner_field = "billing_line__partner"
    view_perm = "incentives.view_customerpayment"
    list_display = ("external_id", "billing_line", "amount_minor", "currency", "paid_on")
    search_fields = ("external_id", "billing_line__external_id")
    list_select_related = ("billing_line",)


@admin.register(SpiffCampaign)
class SpiffCampaignAdmin(StaffViewMixin, admin.ModelAdmin):
    view_perm = "incentives.view_spiffcampaign"
    list_display = ("name", "program", "basis", "starts_on", "ends_on", "bounty_minor", "currency")
    list_filter = ("basis", "currency")
    search_fields = ("name",)
    list_select_related = ("program",)


@admin.register(AccrualRun)
class AccrualRunAdmin(StaffViewMixin, admin.ModelAdmin):
    view_perm = "incentives.view_accrualrun"
    list_display = ("id", "started_at", "finished_at", "lines", "entries", "payments")


@admin.register(PayoutRun)
class PayoutRunAdmin(StaffViewMixin, admin.ModelAdmin):
    view_perm = "incentives.view_payoutrun"
    list_display = ("reference", "as_of", "currency", "partners", "total_minor", "created_at")
    search_fields = ("reference",)


@admin.register(RebateClose)
class RebateCloseAdmin(StaffViewMixin, admin.ModelAdmin):
    view_perm = "incentives.view_rebateclose"
    list_display = (
        "rebate_key",
        "program",
        "period_start",
        "period_end",
        "partners",
        "total_minor",
    )
    list_select_related = ("program",)
