"""Schemas of /api/v1/charging/sessions: session lists and details, import reports."""

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID

MAX_REPORTED_ERRORS = 1000
MAX_CDRS_PER_REQUEST = 10_000

PaymentMethod = Literal["card", "balance", "corporate"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
CdrList = Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_CDRS_PER_REQUEST)]
CdrBody = CdrList | dict[str, Any]


class SessionFilter(Schema):
    partner_id: Id | None = Field(None, description="The host (the site's partner).")
    corporate_partner_id: Id | None = Field(None, description="The partner billed (corporate).")
    charge_point_id: Id | None = None
    month: Annotated[str, Field(pattern=r"^[12]\d{3}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="YYYY-MM: sessions that started in this calendar month (UTC)."
    )
    payment_method: PaymentMethod | None = None
    flagged: bool | None = None

    def as_kwargs(self) -> dict:
        data = self.dict()
        if data["month"]:
            year, month = data["month"].split("-")
            data["month"] = dt.date(int(year), int(month), 1)
        return data


class SessionRowErrorOut(Schema):
    row: int = Field(description="CSV line (header = 1) or CDR position (from 1).")
    field: str = Field(description="The column or the CDR's JSON path; empty for the row.")
    message: str


class SessionImportReportOut(Schema):
    rows: int = Field(description="Rows (CDRs) read.")
    created: int = Field(description="Sessions stored now.")
    skipped: int = Field(description="CDR ids already imported before: left unchanged.")
    flagged: int = Field(description="Corporate sessions flagged over the monthly limit.")
    drivers_created: int
    refused: bool = Field(description="All or nothing and rows were refused: nothing stored.")
    error_count: int
    errors: list[SessionRowErrorOut] = Field(description=f"The first {MAX_REPORTED_ERRORS} errors.")


class SessionOut(Schema):
    id: int
    cdr_id: str
    evse_uid: str
    evse_id: int
    charge_point_id: int
    location_id: int
    partner_id: int | None = Field(description="The host on the session's start day.")
    current_type: Literal["AC", "DC"]
    start: dt.datetime
    end: dt.datetime
    energy_kwh: str = Field(description="kWh with 3 decimals (stored as Wh).")
    charging_seconds: int
    parking_seconds: int
    currency: str
    energy_cost: str
    time_cost: str
    parking_cost: str
    connection_fee: str
    total_excl_vat: str
    total_incl_vat: str
    payment_method: PaymentMethod
    driver: str | None = Field(description="The driver account's external id.")
    corporate_partner_id: int | None
    flagged: bool
    flag_reason: str
    tariff: str | None = Field(description="The OCPI id of the tariff that priced it.")
    imported_at: dt.datetime
    received_as_ocpi: bool

    @staticmethod
    def resolve_evse_uid(obj) -> str:
        return obj.evse.uid

    @staticmethod
    def resolve_energy_kwh(obj) -> str:
        return f"{obj.energy_wh // 1000}.{obj.energy_wh % 1000:03d}"

    @staticmethod
    def resolve_energy_cost(obj) -> str:
        return str(from_minor(obj.energy_cost_minor, obj.currency))

    @staticmethod
    def resolve_time_cost(obj) -> str:
        return str(from_minor(obj.time_cost_minor, obj.currency))

    @staticmethod
    def resolve_parking_cost(obj) -> str:
        return str(from_minor(obj.parking_cost_minor, obj.currency))

    @staticmethod
    def resolve_connection_fee(obj) -> str:
        return str(from_minor(obj.connection_fee_minor, obj.currency))

    @staticmethod
    def resolve_total_excl_vat(obj) -> str:
        return str(from_minor(obj.total_excl_vat_minor, obj.currency))

    @staticmethod
    def resolve_total_incl_vat(obj) -> str:
        return str(from_minor(obj.total_incl_vat_minor, obj.currency))

    @staticmethod
    def resolve_driver(obj) -> str | None:
        return obj.driver.external_id if obj.driver_id else None

    @staticmethod
    def resolve_tariff(obj) -> str | None:
        return obj.tariff.ocpi_id if obj.tariff_id else None
