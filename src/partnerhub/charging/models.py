"""Charging assets, tariffs, drivers and charging sessions of a charge-point operator (CPO).

Assets: a ``Location`` (a site, with its electricity price by period) holds ``ChargePoint``s,
each with ``Evse``s (AC or DC, max power) and their ``Connector``s. Which partner (site host)
hosts a charge point is kept as history (``ChargePointHosting``): a charge point that moves to
another host mid-month settles to each host for its own days.

Tariffs are stored in the shape of OCPI 2.2.1 (``Tariff.ocpi`` holds the Tariff object; see
``ocpi.py`` and ``tariff_calc.py``). A tariff reaches a charge point through its tariff group,
the charge point itself or one EVSE; the most specific assignment wins.

Charging sessions are imported from the charging-station management system as OCPI CDRs or
CSV, idempotently by CDR id. Amounts are integer minor units beside a currency (see
``core.money``); energy is integer watt-hours, durations integer seconds: sums are exact on
both databases. Rates per kWh are ``Decimal`` with 6 places; percentages ``Decimal`` with 2.
The session row carries the hosting partner, the EVSE's current type and the location copied at
import time, so settlement aggregates one table with set-based SQL.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from partnerhub.core.models import TimeStampedModel


class CurrentType(models.TextChoices):
    AC = "AC", "AC"
    DC = "DC", "DC"


class Location(TimeStampedModel):
    """A charging site. ``ocpi_id`` is the Location id in the CSMS / OCPI."""

    ocpi_id = models.CharField("OCPI id", max_length=36, unique=True)
    name = models.CharField(max_length=255)
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField()
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone, e.g. Europe/Berlin."
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ElectricityPrice(models.Model):
    """What electricity costs at a location from ``valid_from`` (inclusive) until the next
    price's ``valid_from``: used to deduct or reimburse electricity in settlement."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="electricity_prices"
    )
    valid_from = models.DateField()
    price_per_kwh = models.DecimalField(
        max_digits=12, decimal_places=6, help_text="Excl. VAT, in the currency below."
    )
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["location", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "valid_from"], name="electricity_price_once_per_day"
            ),
            models.CheckConstraint(
                condition=Q(price_per_kwh__gte=0), name="electricity_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location}: {self.price_per_kwh} {self.currency}/kWh from {self.valid_from}"


class ChargePointStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    CHARGING = "charging", "Charging"
    FAULTED = "faulted", "Faulted"
    UNAVAILABLE = "unavailable", "Unavailable"
    REMOVED = "removed", "Removed"


class TariffGroup(TimeStampedModel):
    """Charge points priced alike. ``partner`` is set when a site host manages the group."""

    name = models.CharField(max_length=200)
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tariff_groups",
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChargePoint(TimeStampedModel):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="charge_points")
    identity = models.CharField(
        max_length=48, unique=True, help_text="Charge box identity (OCPP) / serial."
    )
    vendor = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=16, choices=ChargePointStatus.choices, default=ChargePointStatus.AVAILABLE
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    tariff_group = models.ForeignKey(
        TariffGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charge_points",
    )
    # The current host, kept in step with the open ChargePointHosting row by the services.
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charge_points",
    )

    class Meta:
        ordering = ["identity"]

    def __str__(self) -> str:
        return self.identity


class ChargePointHosting(models.Model):
    """The partner hosting a charge point from ``valid_from`` through ``valid_to`` (inclusive;
    open-ended when null). Periods of one charge point never overlap."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="hostings")
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="hostings"
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["charge_point", "valid_from"]
        indexes = [models.Index(fields=["partner", "valid_from"], name="hosting_partner_from")]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "valid_from"], name="hosting_once_per_day"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="hosting_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} hosted by {self.partner_id} from {self.valid_from}"


class Evse(models.Model):
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="evses")
    uid = models.CharField("EVSE UID", max_length=36, unique=True)
    evse_id = models.CharField("EVSE ID", max_length=48, blank=True, help_text="eMI3 EVSE ID.")
    current_type = models.CharField(max_length=2, choices=CurrentType.choices)
    max_power_kw = models.DecimalField(max_digits=8, decimal_places=2)
    tariff = models.ForeignKey(
        "Tariff", null=True, blank=True, on_delete=models.SET_NULL, related_name="evses"
    )

    class Meta:
        ordering = ["charge_point", "uid"]

    def __str__(self) -> str:
        return self.evse_id or self.uid


class ConnectorStandard(models.TextChoices):
    TYPE2 = "IEC_62196_T2", "Type 2"
    TYPE2_COMBO = "IEC_62196_T2_COMBO", "CCS (Type 2 Combo)"
    CHADEMO = "CHADEMO", "CHAdeMO"
    TYPE1 = "SAE_J1772", "Type 1"
    DOMESTIC = "DOMESTIC_F", "Schuko"


class Connector(models.Model):
    evse = models.ForeignKey(Evse, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.CharField(max_length=36)
    standard = models.CharField(max_length=32, choices=ConnectorStandard.choices)
    format = models.CharField(
        max_length=8, choices=[("SOCKET", "Socket"), ("CABLE", "Cable")], default="SOCKET"
    )
    max_power_kw = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["evse", "connector_id"]
        constraints = [
            models.UniqueConstraint(fields=["evse", "connector_id"], name="connector_once_per_evse")
        ]

    def __str__(self) -> str:
        return f"{self.evse} #{self.connector_id}"


class Tariff(TimeStampedModel):
    """An OCPI 2.2.1 Tariff. ``ocpi`` is the Tariff object as imported or edited (validated by
    ``ocpi.parse_tariff``); the columns beside it are copies for lookups and display."""

    ocpi_id = models.CharField("OCPI id", max_length=36, unique=True)
    name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3)
    ocpi = models.JSONField(help_text="The OCPI Tariff object.")
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tariffs",
        help_text="The site host managing this tariff; empty for the operator's own tariffs.",
    )

    class Meta:
        ordering = ["ocpi_id"]

    def __str__(self) -> str:
        return self.name or self.ocpi_id


class TariffAssignment(models.Model):
    """A tariff applied to a tariff group, a charge point or one EVSE from ``valid_from``.
    For a session the most specific current assignment wins: EVSE, then charge point, then
    the charge point's group."""

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="assignments")
    tariff_group = models.ForeignKey(
        TariffGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    charge_point = models.ForeignKey(
        ChargePoint, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    evse = models.ForeignKey(
        Evse, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    valid_from = models.DateTimeField()

    class Meta:
        ordering = ["valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(tariff_group__isnull=False, charge_point__isnull=True, evse__isnull=True)
                    | Q(tariff_group__isnull=True, charge_point__isnull=False, evse__isnull=True)
                    | Q(tariff_group__isnull=True, charge_point__isnull=True, evse__isnull=False)
                ),
                name="tariff_assignment_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tariff} from {self.valid_from:%Y-%m-%d %H:%M}"


class CorporateBilling(TimeStampedModel):
    """A partner's corporate-billing offer to its own drivers: their sessions are charged to
    the partner's account, each driver up to a monthly limit, with the partner's discount on
    service fees."""

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="corporate_billing"
    )
    enabled = models.BooleanField(default=True)
    currency = models.CharField(max_length=3)
    monthly_limit_minor = models.BigIntegerField(
        help_text="Default monthly limit per driver, incl. VAT, in minor units."
    )
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Discount on service fees, %."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_limit_minor__gte=0), name="corporate_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="corporate_discount_percent_range",
            ),
        ]


class Driver(TimeStampedModel):
    """An EV driver account of the CSMS (OCPI token holder). ``partner`` is set for a partner's
    own users (corporate billing); ``monthly_limit_minor`` overrides the partner's default."""

    external_id = models.CharField(max_length=64, unique=True, help_text="Account / token uid.")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="drivers",
    )
    corporate_billing = models.BooleanField(
        default=False, help_text="Charge this driver's sessions to the partner."
    )
    monthly_limit_minor = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    BALANCE = "balance", "Balance / top-up"
    CORPORATE = "corporate", "Corporate billing"


class ChargingSession(models.Model):
    """One finished charging session (a CDR). Copies of ``charge_point``, ``location``,
    ``partner`` (the host on the session's start day) and ``current_type`` are taken at import
    so settlement reads this table alone.

    Indexes: imports must write 100,000s of rows a second, so the table keeps only the indexes
    its reads use (CDR id; host, corporate partner, driver and charge point each by start; start)
    and none of Django's one-column foreign-key indexes. Deleting an asset, tariff or partner
    that sessions refer to is refused (PROTECT) after a scan, which is rare and acceptable.
    """

    cdr_id = models.CharField("CDR id", max_length=64, unique=True)
    evse = models.ForeignKey(
        Evse, on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosted_sessions",
        db_index=False,
        help_text="The site host on the session's start day (none when no host).",
    )
    current_type = models.CharField(max_length=2, choices=CurrentType.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    energy_wh = models.BigIntegerField()
    charging_seconds = models.IntegerField(default=0)
    parking_seconds = models.IntegerField(default=0)
    currency = models.CharField(max_length=3)
    # Cost components excl. VAT, minor units.
    energy_cost_minor = models.BigIntegerField(default=0)
    time_cost_minor = models.BigIntegerField(default=0)
    parking_cost_minor = models.BigIntegerField(default=0)
    connection_fee_minor = models.BigIntegerField(
        default=0, help_text="Flat connection fee (OCPI FLAT), excl. VAT."
    )
    total_excl_vat_minor = models.BigIntegerField()
    total_incl_vat_minor = models.BigIntegerField()
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    driver = models.ForeignKey(
        Driver,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        db_index=False,
    )
    corporate_partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corporate_sessions",
        db_index=False,
        help_text="The partner billed instead of the driver (corporate billing).",
    )
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=200, blank=True)
    tariff = models.ForeignKey(
        Tariff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    ocpi = models.JSONField(
        null=True, blank=True, help_text="The CDR as received, for CDRs imported as OCPI JSON."
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            # Settlement: one month of one host's sessions, by current type.
            models.Index(fields=["partner", "start"], name="session_partner_start"),
            models.Index(fields=["start"], name="session_start"),
            models.Index(
                fields=["corporate_partner", "start"],
                name="session_corporate_start",
                condition=Q(corporate_partner__isnull=False),
            ),
            models.Index(fields=["driver", "start"], name="session_driver_start"),
            models.Index(fields=["charge_point", "start"], name="session_charge_point_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="session_ordered"),
            models.CheckConstraint(condition=Q(energy_wh__gte=0), name="session_energy_positive"),
            models.CheckConstraint(
                condition=Q(total_incl_vat_minor__gte=models.F("total_excl_vat_minor")),
                name="session_vat_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.cdr_id


class StatusNotification(models.Model):
    """A charge point status change reported through the API (fault notifications)."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="status_notifications"
    )
    from_status = models.CharField(max_length=16, choices=ChargePointStatus.choices)
    to_status = models.CharField(max_length=16, choices=ChargePointStatus.choices)
    error_code = models.CharField(max_length=50, blank=True)
    info = models.CharField(max_length=255, blank=True)
    reported_at = models.DateTimeField()
    notified_email = models.EmailField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-reported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.charge_point}: {self.from_status} → {self.to_status}"
