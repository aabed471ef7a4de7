"""Back office for settlements: contracts (changes go through the services), statements with
their lines and payments (read-only; finalise through the action), and settlement runs."""

from django.contrib import admin, messages

from partnerhub.core.admin import ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.settlements import services
from partnerhub.settlements.models import (
    Contract,
    Payment,
    SettlementRun,
    Statement,
    StatementLine,
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


class LineInline(ReadOnlyInline):
    model = StatementLine
    fields = (
        "kind",
        "current_type",
        "is_adjustment",
        "original_month",
        "sessions",
        "quantity",
        "asset_days",
        "revenue_minor",
        "shareable_minor",
        "partner_share_minor",
        "operator_share_minor",
        "fee_minor",
        "vat_minor",
        "amount_minor",
    )


class PaymentInline(ReadOnlyInline):
    model = Payment


@admin.register(Contract)
class ContractAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ("name", "partner", "start_month", "end_month", "auto_renew", "currency")
    list_filter = ("auto_renew", "currency", "deduct_electricity", "exclude_connection_fee")
    search_fields = ("name", "partner__display_name")
    list_select_related = ("partner",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("settlements.view_contract", obj.partner if obj else None) or (
            obj is None and request.user.is_staff
        )

    def has_change_permission(self, request, obj=None):
        return False  # through the API / console, which validate overlaps

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ("__str__", "partner", "month", "status", "currency", "net_minor")
    list_filter = ("status", "month", "currency")
    search_fields = ("number", "partner__display_name")
    list_select_related = ("partner",)
    inlines = [LineInline, PaymentInline]
    actions = ["finalise_selected"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(
            "settlements.view_statement", obj.partner if obj else None
        ) or (obj is None and request.user.is_staff)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Finalise selected draft statements")
    def finalise_selected(self, request, queryset):
        done = 0
        for statement in queryset.filter(status="draft").select_related("partner"):
            if not request.user.has_perm("settlements.finalise_statement", statement.partner):
                self.message_user(request, f"{statement}: not allowed.", messages.ERROR)
                continue
            try:
                services.statement_finalise(statement=statement, by=request.user)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{statement}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Finalised {done} statement(s).", messages.SUCCESS)


@admin.register(SettlementRun)
class SettlementRunAdmin(admin.ModelAdmin):
    list_display = ("id", "month", "status", "statements", "sessions", "adjustments", "finished_at")
    list_filter = ("status",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("settlements.view_settlementrun")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
