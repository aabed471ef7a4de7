"""Back office for quotes, credit lines and NFR purchases: read-only records (every change goes
through the services: credit lines in the console and API, quotes and NFR orders in the portal
and API), with an action marking past-validity draft quotes as expired."""

from django.contrib import admin, messages

from partnerhub.core.admin import ReadOnlyMixin as NoWrites
from partnerhub.core.admin import ScopedAdmin
from partnerhub.quotes import services
from partnerhub.quotes.models import CreditLine, NfrPurchase, Quote, QuoteLine


class ReadOnlyMixin(NoWrites):
    view_perm = ""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.view_perm, obj.partner if obj else None) or (
            obj is None and request.user.is_staff
        )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Quote)
class QuoteAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "quotes.view_quote"
    list_display = (
        "number",
        "partner",
        "quote_date",
        "valid_until",
        "purchase_path",
        "status",
        "total_minor",
        "currency",
        "direct_allowed",
    )
    list_filter = ("status", "purchase_path", "direct_allowed", "program")
    search_fields = ("number", "partner__display_name")
    list_select_related = ("partner",)
    inlines = [QuoteLineInline]
    actions = ["expire_past_validity"]

    @admin.action(description="Mark draft quotes past their validity as expired")
    def expire_past_validity(self, request, queryset):
        done = services.quotes_expire()
        self.message_user(request, f"{done} quote(s) expired.", messages.SUCCESS)


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "quotes.view_creditline"
    list_display = ("partner", "limit_minor", "currency", "approved_on", "expires_on")
    search_fields = ("partner__display_name",)
    list_select_related = ("partner",)


@admin.register(NfrPurchase)
class NfrPurchaseAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    view_perm = "quotes.view_nfrpurchase"
    list_display = ("partner", "product", "quantity", "is_renewal", "ordered_on", "price_minor")
    list_filter = ("is_renewal", "program")
    search_fields = ("partner__display_name", "product__sku")
    list_select_related = ("partner", "product")
