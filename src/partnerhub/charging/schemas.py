"""Request and response shapes of /api/v1/charging. Amounts are decimal strings in major units
(``"12.50"``) beside their currency; rates per kWh have up to 6 decimals."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText, UtcDatetime

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("10000000000000"), decimal_places=3)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Power = Annotated[Decimal, Field(gt=0, le=100000, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, le=999999, decimal_places=6)]
Volume = Annotated[Decimal, Field(ge=0, le=1000000, decimal_places=6)]
CurrentTypeLiteral = Literal["AC", "DC"]
StatusLiteral = Literal["available", "charging", "faulted", "unavailable", "removed"]
StandardLiteral = Literal[
    "IEC_62196_T2", "IEC_62196_T2_COMBO", "CHADEMO", "SAE_J1772", "DOMESTIC_F"
]


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(from_minor(minor, currency))


# --- locations ----------------------------------------------------------------------------------


class ElectricityPriceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    valid_from: dt.date
    price_per_kwh: Rate = Field(description="Excl. VAT, per kWh.")
    currency: Currency


class ElectricityPriceOut(Schema):
    valid_from: dt.date
    price_per_kwh: str
    currency: str

    @staticmethod
    def resolve_price_per_kwh(obj) -> str:
        return str(obj.price_per_kwh)


class LocationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ocpi_id: ShortText(36, 1)
    name: ShortText(255, 1)
    address: ShortText(255, 1)
    city: ShortText(100, 1)
    postal_code: ShortText(20) = ""
    country: Country
    latitude: Annotated[Decimal, Field(ge=-90, le=90, decimal_places=6)] | None = None
    longitude: Annotated[Decimal, Field(ge=-180, le=180, decimal_places=6)] | None = None
    time_zone: ShortText(64) = "UTC"
    electricity_prices: Annotated[list[ElectricityPriceIn], Field(max_length=1000)] = Field(
        default_factory=list,
        description="Each price holds from its valid_from until the next one's.",
    )


class LocationPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    ocpi_id: ShortText(36, 1) | None = None
    name: ShortText(255, 1) | None = None
    address: ShortText(255, 1) | None = None
    city: ShortText(100, 1) | None = None
    postal_code: ShortText(20) | None = None
    country: Country | None = None
    latitude: Annotated[Decimal, Field(ge=-90, le=90, decimal_places=6)] | None = None
    longitude: Annotated[Decimal, Field(ge=-180, le=180, decimal_places=6)] | None = None
    time_zone: ShortText(64) | None = None
    electricity_prices: Annotated[list[ElectricityPriceIn], Field(max_length=1000)] | None = Field(
        None, description="Replaces every price period when given."
    )


class LocationOut(Schema):
    id: int
    ocpi_id: str
    name: str
    address: str
    city: str
    postal_code: str
    country: str
    latitude: str | None
    longitude: str | None
    time_zone: str
    electricity_prices: list[ElectricityPriceOut]

    @staticmethod
    def resolve_country(obj) -> str:
        return str(obj.country.code if hasattr(obj.country, "code") else obj.country)

    @staticmethod
    def resolve_latitude(obj) -> str | None:
        return None if obj.latitude is None else str(obj.latitude)

    @staticmethod
    def resolve_longitude(obj) -> str | None:
        return None if obj.longitude is None else str(obj.longitude)

    @staticmethod
    def resolve_electricity_prices(obj):
        return list(obj.electricity_prices.all())


# --- charge points ------------------------------------------------------------------------------


class ConnectorIn(Schema):
    model_config = ConfigDict(extra="forbid")

    connector_id: ShortText(36, 1)
    standard: StandardLiteral
    format: Literal["SOCKET", "CABLE"] = "SOCKET"
    max_power_kw: Power | None = Field(None, description="The EVSE's when omitted.")


class EvseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    uid: ShortText(36, 1)
    evse_id: ShortText(48) = Field("", description="eMI3 EVSE ID.")
    current_type: CurrentTypeLiteral
    max_power_kw: Power
    connectors: Annotated[list[ConnectorIn], Field(max_length=8)] = Field(default_factory=list)


class ChargePointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    location_id: Id
    identity: ShortText(48, 1)
    vendor: ShortText(100) = ""
    model: ShortText(100) = ""
    tariff_group_id: Id | None = None
    partner_id: Id | None = Field(None, description="The host (site partner), if any.")
    hosted_from: dt.date | None = Field(None, description="Today when omitted.")
    evses: Annotated[list[EvseIn], Field(min_length=1, max_length=64)]


class ChargePointPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    location_id: Id | None = None
    identity: ShortText(48, 1) | None = None
    vendor: ShortText(100) | None = None
    model: ShortText(100) | None = None
    tariff_group_id: Id | None = Field(None, description="null removes the group.")
    evses: Annotated[list[EvseIn], Field(min_length=1, max_length=64)] | None = Field(
        None, description="The complete list: matched by uid; EVSEs left out are removed."
    )


class ConnectorOut(Schema):
    connector_id: str
    standard: str
    format: str
    max_power_kw: str

    @staticmethod
    def resolve_max_power_kw(obj) -> str:
        return str(obj.max_power_kw)


class EvseOut(Schema):
    id: int
    uid: str
    evse_id: str
    current_type: CurrentTypeLiteral
    max_power_kw: str
    connectors: list[ConnectorOut]

    @staticmethod
    def resolve_max_power_kw(obj) -> str:
        return str(obj.max_power_kw)

    @staticmethod
    def resolve_connectors(obj):
        return list(obj.connectors.all())


class ChargePointOut(Schema):
    id: int
    identity: str
    location_id: int
    location_name: str
    vendor: str
    model: str
    status: StatusLiteral
    status_changed_at: dt.datetime | None
    partner_id: int | None = Field(description="The host today.")
    partner_name: str | None
    tariff_group_id: int | None
    evses: list[EvseOut]

    @staticmethod
    def resolve_location_name(obj) -> str:
        return obj.location.name

    @staticmethod
    def resolve_partner_name(obj) -> str | None:
        return obj.partner.display_name if obj.partner_id else None

    @staticmethod
    def resolve_evses(obj):
        return list(obj.evses.all())


class HostingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: Id | None = Field(description="The new host; null ends the hosting.")
    valid_from: dt.date = Field(description="First day of the new period (inclusive).")


class HostingOut(Schema):
    id: int
    partner_id: int
    partner_name: str
    valid_from: dt.date
    valid_to: dt.date | None = Field(description="Last day (inclusive); null while open.")

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name


class ChargePointStatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: StatusLiteral
    error_code: ShortText(50) = ""
    info: ShortText(255) = ""


class StatusNotificationOut(Schema):
    id: int
    charge_point_id: int
    from_status: str
    to_status: str
    error_code: str
    info: str
    reported_at: dt.datetime
    notified: bool = Field(description="The host's technical contact was e-mailed.")

    @staticmethod
    def resolve_notified(obj) -> bool:
        return bool(obj.notified_email)


# --- tariffs ------------------------------------------------------------------------------------


class TariffIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: Id | None = Field(
        None,
        description="The site host managing it; omit for an operator tariff. Partner users "
        "create tariffs for their own organisation.",
    )
    name: ShortText(200) = ""
    ocpi: dict[str, Any] = Field(description="The OCPI 2.2.1 Tariff object.")


class TariffPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ShortText(200) | None = None
    ocpi: dict[str, Any] | None = Field(
        None, description="The complete OCPI 2.2.1 Tariff object (same id)."
    )


class TariffOut(Schema):
    id: int
    ocpi_id: str
    name: str
    currency: str
    partner_id: int | None
    ocpi: dict[str, Any]
    updated_at: dt.datetime


class TariffGroupIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ShortText(200, 1)
    partner_id: Id | None = Field(None, description="The site host managing it.")


class TariffGroupPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ShortText(200, 1) | None = None


class TariffGroupOut(Schema):
    id: int
    name: str
    partner_id: int | None


class AssignmentIn(Schema):
    """Exactly one target: a tariff group, a charge point or one EVSE."""

    model_config = ConfigDict(extra="forbid")

    tariff_group_id: Id | None = None
    charge_point_id: Id | None = None
    evse_id: Id | None = None
    valid_from: UtcDatetime | None = Field(None, description="Now when omitted.")


class AssignmentOut(Schema):
    id: int
    tariff_id: int
    tariff_ocpi_id: str
    level: Literal["evse", "charge_point", "tariff_group"]
    tariff_group_id: int | None
    charge_point_id: int | None
    evse_id: int | None
    valid_from: dt.datetime

    @staticmethod
    def resolve_tariff_ocpi_id(obj) -> str:
        return obj.tariff.ocpi_id

    @staticmethod
    def resolve_level(obj) -> str:
        if obj.evse_id:
            return "evse"
        return "charge_point" if obj.charge_point_id else "tariff_group"


class EvseTariffOut(Schema):
    evse_id: int
    at: dt.datetime
    tariff: TariffOut | None = Field(description="None when no tariff applies.")


class CdrDimensionIn(Schema):
    type: ShortText(32, 1)
    volume: Volume


class ChargingPeriodIn(Schema):
    start_date_time: UtcDatetime
    dimensions: Annotated[list[CdrDimensionIn], Field(min_length=1, max_length=20)]
    tariff_id: ShortText(36) | None = None


class PriceIn(Schema):
    """A session to price: totals (``kwh``, hours) or OCPI ``charging_periods``."""

    model_config = ConfigDict(extra="forbid")

    start: UtcDatetime
    end: UtcDatetime
    kwh: Volume | None = None
    charging_hours: Volume | None = Field(
        None, description="Hours charging; the session's length minus parking when omitted."
    )
    parking_hours: Volume = Decimal(0)
    max_power_kw: Power | None = None
    charging_periods: Annotated[list[ChargingPeriodIn], Field(max_length=500)] | None = None
    time_zone: ShortText(64) | None = Field(
        None, description="Where the tariff's times of day apply; UTC when omitted."
    )


class PriceOut(Schema):
    """The OCPI cost breakdown (4 decimals, as OCPI prices), plus the totals rounded to the
    currency's minor unit."""

    currency: str
    total_cost: dict[str, str]
    subtotal: dict[str, str]
    total_energy_cost: dict[str, str]
    total_time_cost: dict[str, str]
    total_parking_cost: dict[str, str]
    total_fixed_cost: dict[str, str]
    total_energy: str
    total_time: str
    total_charging_time: str
    total_parking_time: str
    billed_energy: str
    billed_charging_time: str
    billed_parking_time: str
    price_limit: str | None
    total_excl_vat: str = Field(description="Rounded half-up to the currency's minor unit.")
    total_incl_vat: str


# --- corporate billing ----------------------------------------------------------------------------


class CorporateBillingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    currency: Currency
    monthly_limit: Amount = Field(description="Default monthly limit per driver, incl. VAT.")
    discount_percent: Percent = Decimal(0)


class CorporateBillingOut(Schema):
    partner_id: int
    enabled: bool
    currency: str | None
    monthly_limit: str | None
    discount_percent: str | None


class DriverIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: Id | None = Field(None, description="Staff only; partner users: their own.")
    external_id: ShortText(64, 1) = Field(description="The CSMS account / token uid.")
    name: ShortText(200) = ""
    email: ShortText(254) = ""
    corporate_billing: bool = False
    monthly_limit: Amount | None = Field(None, description="Overrides the partner's default.")


class DriverPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ShortText(200) | None = None
    email: ShortText(254) | None = None
    corporate_billing: bool | None = None
    monthly_limit: Amount | None = Field(
        None, description="null: the partner's default limit applies."
    )


class DriverOut(Schema):
    id: int
    external_id: str
    name: str
    email: str
    partner_id: int | None
    corporate_billing: bool
    monthly_limit: str | None = Field(description="The driver's own limit, if set.")
    currency: str | None

    @staticmethod
    def resolve_currency(obj) -> str | None:
        billing = _billing(obj)
        return billing.currency if billing else None

    @staticmethod
    def resolve_monthly_limit(obj) -> str | None:
        billing = _billing(obj)
        if obj.monthly_limit_minor is None or billing is None:
            return None
        return _money(obj.monthly_limit_minor, billing.currency)


def _billing(driver):
    """The driver's partner's corporate billing (select_related by the selectors), or None."""
    if driver.partner_id is None:
        return None
    return getattr(driver.partner, "corporate_billing", None)


class AuthorizeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    driver_external_id: ShortText(64, 1)
    evse_uid: ShortText(36, 1)
    expected_amount: Amount | None = Field(
        None, description="The session's expected cost incl. VAT, in the billing currency."
    )


class AuthorizeOut(Schema):
    authorized: bool
    corporate: bool
    message: str
    partner_id: int | None
    currency: str | None
    month: dt.date | None
    limit: str | None
    month_to_date: str | None
    remaining: str | None
