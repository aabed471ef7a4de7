"""OCPI 2.2.1 Tariff and CDR objects as pydantic v2 models (pure Python, no Django models).

Public API::

    parse_tariff(data: Mapping[str, Any]) -> Tariff
    parse_cdr(data: Mapping[str, Any]) -> Cdr
    tariff_to_json(tariff: Tariff) -> dict[str, Any]
    cdr_to_json(cdr: Cdr) -> dict[str, Any]
    ocpi_loads(text: str | bytes) -> Any          # json.loads with every number as Decimal
    ocpi_dumps(data: Any, **json_kwargs) -> str   # json.dumps writing Decimals as JSON numbers
    OcpiValidationError                           # ValueError listing "field.path: message"

Numbers
    Every money, volume, power and percentage field is a ``decimal.Decimal``; floats are never
    used for arithmetic.  Input may be ``Decimal``, ``int``, ``str`` or ``float`` (a float is
    converted through its shortest ``repr``, so ``0.1`` becomes ``Decimal("0.1")``), but for
    exactness read JSON with :func:`ocpi_loads` (``parse_float=Decimal``).  ``bool``, NaN and
    infinities are rejected.

Export shape (decision)
    :func:`tariff_to_json` / :func:`cdr_to_json` return a plain ``dict`` in OCPI shape: ``None``
    fields are omitted, enums become their string values, ``DateTime`` becomes RFC 3339 UTC
    (``2015-06-29T20:39:09Z``, fractional seconds only when present), ``time`` becomes
    ``"HH:MM"`` and ``date`` ``"YYYY-MM-DD"``.  Numbers stay ``Decimal`` (integers such as
    ``step_size`` stay ``int``) so nothing is lost to float noise.  Serialise that dict with
    :func:`ocpi_dumps`, which writes each ``Decimal`` as a bare JSON number literal exactly as
    it is (``Decimal("0.50")`` -> ``0.50``); plain ``json.dumps`` would need a ``default=`` hook
    and would then write strings, which OCPI does not allow for numbers.

Leniency (documented deviations from the specification's "required" columns)
    The specification's own examples and the ocpi-tariffs conformance data omit some fields the
    specification marks as required, so these are *optional* here so every example imports:

    * Tariff: ``country_code``, ``party_id`` and ``last_updated`` (the PUT example has none).
    * CDR: ``country_code``, ``party_id``, ``id``, ``cdr_token``, ``auth_method`` and every
      field of ``cdr_location`` (test CDRs carry only ``{"country": "NLD"}``);
      ``charging_periods`` may be empty.
    * Unknown extra fields are kept (``extra="allow"``) so a round trip does not drop them.

    Everything else is validated: enum values, ``HH:MM`` times, ``YYYY-MM-DD`` dates, string
    lengths of the OCPI identifiers, non-negative prices/VAT/step sizes.  A DateTime without a
    zone designator is read as UTC, as the specification says.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

__all__ = [
    "AuthMethod",
    "Cdr",
    "CdrDimension",
    "CdrDimensionType",
    "CdrLocation",
    "CdrToken",
    "ChargingPeriod",
    "DayOfWeek",
    "DisplayText",
    "OcpiValidationError",
    "Price",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
    "cdr_to_json",
    "ocpi_dumps",
    "ocpi_loads",
    "parse_cdr",
    "parse_tariff",
    "tariff_to_json",
]


class OcpiValidationError(ValueError):
    """Raised by :func:`parse_tariff` / :func:`parse_cdr`; ``errors`` holds (path, message)."""

    def __init__(self, kind: str, errors: list[tuple[str, str]]):
        self.kind = kind
        self.errors = errors
        lines = "\n".join(f"  {path}: {message}" for path, message in errors)
        super().__init__(f"invalid OCPI {kind} ({len(errors)} error(s)):\n{lines}")

    @classmethod
    def from_pydantic(cls, kind: str, exc: ValidationError) -> OcpiValidationError:
        errors = [
            (".".join(str(part) for part in err["loc"]) or "<root>", err["msg"])
            for err in exc.errors()
        ]
        return cls(kind, errors)


# --------------------------------------------------------------------------------------------
# Scalar types
# --------------------------------------------------------------------------------------------


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is required, not a boolean")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Number = Annotated[Decimal, BeforeValidator(_to_decimal), Field(allow_inf_nan=False)]
NonNegativeNumber = Annotated[
    Decimal, BeforeValidator(_to_decimal), Field(allow_inf_nan=False, ge=0)
]


def _parse_datetime(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 date-time: {value!r}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


OcpiDateTime = Annotated[datetime, BeforeValidator(_parse_datetime)]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_YMD = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, str):
        match = _HHMM.match(value)
        if not match:
            raise ValueError(f"time must be 'HH:MM' (00:00-23:59), got {value!r}")
        return time(int(match.group(1)), int(match.group(2)))
    return value


def _parse_ymd(value: Any) -> Any:
    if isinstance(value, str):
        if not _YMD.match(value):
            raise ValueError(f"date must be 'YYYY-MM-DD', got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not a valid date: {value!r}") from exc
    return value


OcpiTime = Annotated[time, BeforeValidator(_parse_hhmm)]
OcpiDate = Annotated[date, BeforeValidator(_parse_ymd)]


# --------------------------------------------------------------------------------------------
# Enums
# --------------------------------------------------------------------------------------------


class TariffType(StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class TariffDimensionType(StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class CdrDimensionType(StrEnum):
    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


class AuthMethod(StrEnum):
    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class TokenType(StrEnum):
    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class ConnectorFormat(StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _Ocpi(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)


class DisplayText(_Ocpi):
    language: str = Field(min_length=2, max_length=2)
    text: str = Field(max_length=512)


class Price(_Ocpi):
    """OCPI Price: ``excl_vat`` required, ``incl_vat`` optional."""

    excl_vat: Number
    incl_vat: Number | None = None


class PriceComponent(_Ocpi):
    type: TariffDimensionType
    price: NonNegativeNumber
    vat: NonNegativeNumber | None = None
    step_size: int = Field(ge=0)

    @field_validator("step_size", mode="before")
    @classmethod
    def _integral_step(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("step_size must be an integer")
        if isinstance(value, Decimal | float) and value == int(value):
            return int(value)
        return value


class TariffRestrictions(_Ocpi):
    start_time: OcpiTime | None = None
    end_time: OcpiTime | None = None
    start_date: OcpiDate | None = None
    end_date: OcpiDate | None = None
    min_kwh: NonNegativeNumber | None = None
    max_kwh: NonNegativeNumber | None = None
    min_current: NonNegativeNumber | None = None
    max_current: NonNegativeNumber | None = None
    min_power: NonNegativeNumber | None = None
    max_power: NonNegativeNumber | None = None
    min_duration: int | None = Field(default=None, ge=0)
    max_duration: int | None = Field(default=None, ge=0)
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(_Ocpi):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: TariffRestrictions | None = None


class Tariff(_Ocpi):
    """OCPI 2.2.1 Tariff.  ``country_code``, ``party_id``, ``last_updated`` lenient (optional)."""

    country_code: str | None = Field(default=None, min_length=2, max_length=2)
    party_id: str | None = Field(default=None, min_length=3, max_length=3)
    id: str = Field(min_length=1, max_length=36)
    currency: str = Field(min_length=3, max_length=3)
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: list[TariffElement] = Field(min_length=1)
    start_date_time: OcpiDateTime | None = None
    end_date_time: OcpiDateTime | None = None
    energy_mix: dict[str, Any] | None = None
    last_updated: OcpiDateTime | None = None


class CdrToken(_Ocpi):
    country_code: str | None = Field(default=None, max_length=2)
    party_id: str | None = Field(default=None, max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)


class GeoLocation(_Ocpi):
    latitude: str = Field(max_length=10)
    longitude: str = Field(max_length=11)


class CdrLocation(_Ocpi):
    """OCPI CdrLocation; every field optional here (lenient, see module docstring)."""

    id: str | None = Field(default=None, max_length=36)
    name: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=45)
    city: str | None = Field(default=None, max_length=45)
    postal_code: str | None = Field(default=None, max_length=10)
    state: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=3)
    coordinates: GeoLocation | None = None
    evse_uid: str | None = Field(default=None, max_length=36)
    evse_id: str | None = Field(default=None, max_length=48)
    connector_id: str | None = Field(default=None, max_length=36)
    connector_standard: str | None = None
    connector_format: ConnectorFormat | None = None
    connector_power_type: PowerType | None = None


class CdrDimension(_Ocpi):
    type: CdrDimensionType
    volume: Number


class ChargingPeriod(_Ocpi):
    start_date_time: OcpiDateTime
    dimensions: list[CdrDimension] = Field(min_length=1)
    tariff_id: str | None = Field(default=None, max_length=36)

    def volume(self, dimension: CdrDimensionType | str) -> Decimal | None:
        """Volume of ``dimension`` in this period (first occurrence) or ``None``."""
        for item in self.dimensions:
            if item.type == dimension:
                return item.volume
        return None


class Cdr(_Ocpi):
    """OCPI 2.2.1 CDR.  Identification/token/location fields lenient (optional)."""

    country_code: str | None = Field(default=None, max_length=2)
    party_id: str | None = Field(default=None, max_length=3)
    id: str | None = Field(default=None, max_length=39)
    start_date_time: OcpiDateTime
    end_date_time: OcpiDateTime
    session_id: str | None = Field(default=None, max_length=36)
    cdr_token: CdrToken | None = None
    auth_method: AuthMethod | None = None
    authorization_reference: str | None = Field(default=None, max_length=36)
    cdr_location: CdrLocation | None = None
    meter_id: str | None = Field(default=None, max_length=255)
    currency: str = Field(min_length=3, max_length=3)
    tariffs: list[Tariff] | None = None
    charging_periods: list[ChargingPeriod]
    signed_data: dict[str, Any] | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Number
    total_energy_cost: Price | None = None
    total_time: Number
    total_time_cost: Price | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: str | None = Field(default=None, max_length=255)
    invoice_reference_id: str | None = Field(default=None, max_length=39)
    credit: bool | None = None
    credit_reference_id: str | None = Field(default=None, max_length=39)
    home_charging_compensation: bool | None = None
    last_updated: OcpiDateTime


# --------------------------------------------------------------------------------------------
# Import / export
# --------------------------------------------------------------------------------------------


def parse_tariff(data: Mapping[str, Any]) -> Tariff:
    """Validate an OCPI Tariff dict; raises :class:`OcpiValidationError` with field paths."""
    try:
        return Tariff.model_validate(data)
    except ValidationError as exc:
        raise OcpiValidationError.from_pydantic("Tariff", exc) from None


def parse_cdr(data: Mapping[str, Any]) -> Cdr:
    """Validate an OCPI CDR dict; raises :class:`OcpiValidationError` with field paths."""
    try:
        return Cdr.model_validate(data)
    except ValidationError as exc:
        raise OcpiValidationError.from_pydantic("CDR", exc) from None


def format_datetime(value: datetime) -> str:
    """RFC 3339 UTC with ``Z``; fractional seconds only when present."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _export(model: BaseModel) -> dict[str, Any]:
    return _plain(model.model_dump(mode="python", exclude_none=True))


def tariff_to_json(tariff: Tariff) -> dict[str, Any]:
    """Export a Tariff as an OCPI-shaped dict (``None`` omitted, numbers as ``Decimal``)."""
    return _export(tariff)


def cdr_to_json(cdr: Cdr) -> dict[str, Any]:
    """Export a CDR as an OCPI-shaped dict (``None`` omitted, numbers as ``Decimal``)."""
    return _export(cdr)


def ocpi_loads(text: str | bytes) -> Any:
    """``json.loads`` with every non-integer number parsed as ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def ocpi_dumps(data: Any, **json_kwargs: Any) -> str:
    """``json.dumps`` that writes ``Decimal`` values as bare JSON numbers (no float noise).

    Datetimes/enums are converted as in :func:`tariff_to_json`; pass a model or dict.
    """
    data = _export(data) if isinstance(data, BaseModel) else _plain(data)
    marker = f"__ocpi_decimal_{uuid.uuid4().hex}__"

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise ValueError(f"cannot write {obj} as a JSON number")
            return f"{marker}{obj}{marker}"
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    text = json.dumps(data, default=default, **json_kwargs)
    return re.sub(f'"{marker}(.*?){marker}"', r"\1", text)
