"""Back office for charging: read-mostly views of assets, hosting history, tariffs, corporate
billing, drivers, sessions and status notifications. Changes go through the API (services):
hosting history, tariff validation and corporate limits have rules a bare form would skip."""

from django.contrib import admin

from partnerhub.charging import selectors
from partnerhub.charging.models import (
    ChargePoint,
    ChargePointHosting,
    ChargingSession,
    Connector,
    CorporateBilling,
    Driver,
    ElectricityPrice,
    Evse,
    Location,
    StatusNotification,
    Tariff,
    TariffAssignment,
    TariffGroup,
)
from partnerhub.core.admin import ScopedAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class ReadOnlyAdmin(ScopedAdmin):
    """Rows are listed within the user's scope; nothing is added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff and request.user.has_perm(
            f"{self.opts.app_label}.view_{self.opts.model_name}", obj
        )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class ElectricityPriceInline(ReadOnlyInline):
    model = ElectricityPrice


class ChargePointInline(ReadOnlyInline):
    model = ChargePoint
    fields = ("identity", "status", "partner", "tariff_group")


@admin.register(Location)
class LocationAdmin(ReadOnlyAdmin):
    list_display = ("name", "ocpi_id", "city", "country", "time_zone")
    list_filter = ("country",)
    search_fields = ("name", "ocpi_id", "city", "address")
    inlines = [ElectricityPriceInline, ChargePointInline]

    def get_queryset(self, request):
        return selectors.visible_locations(request.user)


class HostingInline(ReadOnlyInline):
    model = ChargePointHosting


class EvseInline(ReadOnlyInline):
    model = Evse


@admin.register(ChargePoint)
class ChargePointAdmin(ReadOnlyAdmin):
    list_display = ("identity", "location", "partner", "status", "status_changed_at")
    list_filter = ("status",)
    search_fields = ("identity", "location__name", "partner__display_name")
    list_select_related = ("location", "partner")
    inlines = [EvseInline, HostingInline]

    def get_queryset(self, request):
        return selectors.visible_charge_points(request.user)


class ConnectorInline(ReadOnlyInline):
    model = Connector


@admin.register(Evse)
class EvseAdmin(ReadOnlyAdmin):
    list_display = ("uid", "evse_id", "charge_point", "current_type", "max_power_kw")
    list_filter = ("current_type",)
    search_fields = ("uid", "evse_id", "charge_point__identity")
    list_select_related = ("charge_point",)
    inlines = [ConnectorInline]

    def get_queryset(self, request):
        return Evse.objects.filter(charge_point__in=selectors.visible_charge_points(request.user))


@admin.register(ChargePointHosting)
class HostingAdmin(ReadOnlyAdmin):
    partner_field = "partner"
    list_display = ("charge_point", "partner", "valid_from", "valid_to")
    search_fields = ("charge_point__identity", "partner__display_name")
    list_select_related = ("charge_point", "partner")


class AssignmentInline(ReadOnlyInline):
    model = TariffAssignment


@admin.register(Tariff)
class TariffAdmin(ReadOnlyAdmin):
    list_display = ("ocpi_id", "name", "currency", "partner", "updated_at")
    search_fields = ("ocpi_id", "name")
    list_select_related = ("partner",)
    inlines = [AssignmentInline]

    def get_queryset(self, request):
        return selectors.visible_tariffs(request.user)


@admin.register(TariffGroup)
class TariffGroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "partner")
    search_fields = ("name",)

    def get_queryset(self, request):
        return selectors.visible_tariff_groups(request.user)


@admin.register(CorporateBilling)
class CorporateBillingAdmin(ReadOnlyAdmin):
    partner_field = "partner"
    list_display = ("partner", "enabled", "currency", "monthly_limit_minor", "discount_percent")
    list_filter = ("enabled",)


@admin.register(Driver)
class DriverAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "name", "partner", "corporate_billing", "monthly_limit_minor")
    list_filter = ("corporate_billing",)
    search_fields = ("external_id", "name", "email")
    list_select_related = ("partner",)

    def get_queryset(self, request):
        return selectors.visible_drivers(request.user)


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdmin):
    partner_field = "partner"
    list_display = (
        "cdr_id",
        "charge_point",
        "partner",
        "start",
        "energy_wh",
        "total_incl_vat_minor",
        "currency",
        "payment_method",
        "flagged",
    )
    list_filter = ("payment_method", "flagged", "current_type")
    search_fields = ("cdr_id",)
    list_select_related = ("charge_point", "partner")
    date_hierarchy = "start"
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        # Session read rules belong to the session API; in the back office, staff who see
        # charging assets see the sessions of the partners in their scope.
        return request.user.is_staff and request.user.has_perm("charging.view_chargepoint")


@admin.register(StatusNotification)
class StatusNotificationAdmin(ReadOnlyAdmin):
    list_display = ("charge_point", "from_status", "to_status", "error_code", "reported_at")
    list_filter = ("to_status",)
    search_fields = ("charge_point__identity", "error_code")
    list_select_related = ("charge_point",)

    def get_queryset(self, request):
        return StatusNotification.objects.filter(
            charge_point__in=selectors.visible_charge_points(request.user)
        )
