"""API shapes of contracts, statements, runs, payments and receipts. Amounts are decimal
strings in major units of the row's currency (``*_minor`` columns converted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import ShortText

MonthText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-10"])]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Fee = Annotated[Decimal, Field(ge=0, le=Decimal("1000000000"), decimal_places=3)]
KwhFee = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=6)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]

CONTRACT_FLAGS = (
    "auto_renew",
    "exclude_connection_fee",
    "deduct_electricity",
    "reimburse_electricity",
    "allow_start_stop",
    "allow_unlock_connector",
    "allow_trigger_message",
    "allow_charging_profile",
    "allow_composite_schedule",
    "allow_reservations",
    "allow_reset",
    "allow_firmware_update",
    "can_create_users",
    "can_top_up_balances",
    "can_manage_tariffs",
    "supplier_on_receipts",
    "fault_notifications",
)
CONTRACT_FEES = (
    "session_fee_ac",
    "session_fee_dc",
    "platform_fee_charge_point",
    "platform_fee_ac_evse",
    "platform_fee_dc_evse",
)


class ContractIn(Schema):
    """A site-host contract. Months as YYYY-MM; fees in major units of the currency."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText(200, 1)
    currency: Currency = "EUR"
    start_month: MonthText
    end_month: MonthText
    auto_renew: bool = False
    terminated_after: MonthText | None = None
    ac_share_percent: Percent
    dc_share_percent: Percent
    exclude_connection_fee: bool = False
    deduct_electricity: bool = False
    reimburse_electricity: bool = Field(False, description="Needs deduct_electricity.")
    session_fee_ac: Fee = Decimal(0)
    session_fee_dc: Fee = Decimal(0)
    kwh_fee_ac: KwhFee = Decimal(0)
    kwh_fee_dc: KwhFee = Decimal(0)
    handling_fee_percent: Percent = Decimal(0)
    platform_fee_charge_point: Fee = Decimal(0)
    platform_fee_ac_evse: Fee = Decimal(0)
    platform_fee_dc_evse: Fee = Decimal(0)
    vat_percent: Percent = Decimal(0)
    allow_start_stop: bool = False
    allow_unlock_connector: bool = False
    allow_trigger_message: bool = False
    allow_charging_profile: bool = False
    allow_composite_schedule: bool = False
    allow_reservations: bool = False
    allow_reset: bool = False
    allow_firmware_update: bool = False
    can_create_users: bool = False
    can_top_up_balances: bool = False
    can_manage_tariffs: bool = False
    supplier_on_receipts: bool = False
    fault_notifications: bool = False


class ContractPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ShortText(200, 1) | None = None
    currency: Currency | None = None
    start_month: MonthText | None = None
    end_month: MonthText | None = None
    auto_renew: bool | None = None
    terminated_after: MonthText | None = None
    ac_share_percent: Percent | None = None
    dc_share_percent: Percent | None = None
    exclude_connection_fee: bool | None = None
    deduct_electricity: bool | None = None
    reimburse_electricity: bool | None = None
    session_fee_ac: Fee | None = None
    session_fee_dc: Fee | None = None
    kwh_fee_ac: KwhFee | None = None
    kwh_fee_dc: KwhFee | None = None
    handling_fee_percent: Percent | None = None
    platform_fee_charge_point: Fee | None = None
    platform_fee_ac_evse: Fee | None = None
    platform_fee_dc_evse: Fee | None = None
    vat_percent: Percent | None = None
    allow_start_stop: bool | None = None
    allow_unlock_connector: bool | None = None
    allow_trigger_message: bool | None = None
    allow_charging_profile: bool | None = None
    allow_composite_schedule: bool | None = None
    allow_reservations: bool | None = None
    allow_reset: bool | None = None
    allow_firmware_update: bool | None = None
    can_create_users: bool | None = None
    can_top_up_balances: bool | None = None
    can_manage_tariffs: bool | None = None
    supplier_on_receipts: bool | None = None
    fault_notifications: bool | None = None


class ContractOut(Schema):
    id: int
    partner_id: int
    name: str
    currency: str
    start_month: str
    end_month: str
    auto_renew: bool
    terminated_after: str | None
    ac_share_percent: Decimal
    dc_share_percent: Decimal
    exclude_connection_fee: bool
    deduct_electricity: bool
    reimburse_electricity: bool
    session_fee_ac: Decimal
    session_fee_dc: Decimal
    kwh_fee_ac: Decimal
    kwh_fee_dc: Decimal
    handling_fee_percent: Decimal
    platform_fee_charge_point: Decimal
    platform_fee_ac_evse: Decimal
    platform_fee_dc_evse: Decimal
    vat_percent: Decimal
    allow_start_stop: bool
    allow_unlock_connector: bool
    allow_trigger_message: bool
    allow_charging_profile: bool
    allow_composite_schedule: bool
    allow_reservations: bool
    allow_reset: bool
    allow_firmware_update: bool
    can_create_users: bool
    can_top_up_balances: bool
    can_manage_tariffs: bool
    supplier_on_receipts: bool
    fault_notifications: bool

    @staticmethod
    def resolve_start_month(obj) -> str:
        return f"{obj.start_month:%Y-%m}"

    @staticmethod
    def resolve_end_month(obj) -> str:
        return f"{obj.end_month:%Y-%m}"

    @staticmethod
    def resolve_terminated_after(obj) -> str | None:
        return f"{obj.terminated_after:%Y-%m}" if obj.terminated_after else None

    @staticmethod
    def resolve_session_fee_ac(obj) -> Decimal:
        return from_minor(obj.session_fee_ac_minor, obj.currency)

    @staticmethod
    def resolve_session_fee_dc(obj) -> Decimal:
        return from_minor(obj.session_fee_dc_minor, obj.currency)

    @staticmethod
    def resolve_platform_fee_charge_point(obj) -> Decimal:
        return from_minor(obj.platform_fee_charge_point_minor, obj.currency)

    @staticmethod
    def resolve_platform_fee_ac_evse(obj) -> Decimal:
        return from_minor(obj.platform_fee_ac_evse_minor, obj.currency)

    @staticmethod
    def resolve_platform_fee_dc_evse(obj) -> Decimal:
        return from_minor(obj.platform_fee_dc_evse_minor, obj.currency)


TOTALS = (
    "revenue",
    "shareable",
    "partner_share",
    "operator_share",
    "reimbursement",
    "fees",
    "platform_fees",
    "vat",
    "corporate",
    "adjustments",
    "net",
)


def _amount(obj, name: str) -> Decimal:
    return from_minor(getattr(obj, f"{name}_minor"), obj.currency)


class StatementOut(Schema):
    id: int
    partner_id: int
    month: str
    currency: str
    status: Literal["draft", "final"]
    number: str | None
    contract_id: int | None
    warning: str
    sessions: int
    energy_kwh: Decimal
    revenue: Decimal
    shareable: Decimal
    partner_share: Decimal
    operator_share: Decimal
    reimbursement: Decimal
    fees: Decimal
    platform_fees: Decimal
    vat: Decimal
    corporate: Decimal
    adjustments: Decimal
    net: Decimal = Field(description="Positive: payable to the partner; negative: receivable.")
    finalised_at: dt.datetime | None

    @staticmethod
    def resolve_month(obj) -> str:
        return f"{obj.month:%Y-%m}"

    @staticmethod
    def resolve_energy_kwh(obj) -> Decimal:
        return Decimal(obj.energy_wh) / 1000

    @staticmethod
    def resolve_revenue(obj):
        return _amount(obj, "revenue")

    @staticmethod
    def resolve_shareable(obj):
        return _amount(obj, "shareable")

    @staticmethod
    def resolve_partner_share(obj):
        return _amount(obj, "partner_share")

    @staticmethod
    def resolve_operator_share(obj):
        return _amount(obj, "operator_share")

    @staticmethod
    def resolve_reimbursement(obj):
        return _amount(obj, "reimbursement")

    @staticmethod
    def resolve_fees(obj):
        return _amount(obj, "fees")

    @staticmethod
    def resolve_platform_fees(obj):
        return _amount(obj, "platform_fees")

    @staticmethod
    def resolve_vat(obj):
        return _amount(obj, "vat")

    @staticmethod
    def resolve_corporate(obj):
        return _amount(obj, "corporate")

    @staticmethod
    def resolve_adjustments(obj):
        return _amount(obj, "adjustments")

    @staticmethod
    def resolve_net(obj):
        return _amount(obj, "net")


class StatementDetailOut(StatementOut):
    open_balance: Decimal | None = Field(
        None, description="Final statements: net − paid to the partner + received from it."
    )


class LineOut(Schema):
    id: int | None = None
    kind: str
    description: str
    currency: str = Field(
        description="The currency of the line's amounts: the statement's, or another one for "
        "sessions in another currency (kinds other_currency and other_currency_corporate: "
        "not settled, amount 0, never in the totals)."
    )
    current_type: str
    is_adjustment: bool
    original_month: str | None
    sessions: int
    flagged_sessions: int
    energy_kwh: Decimal
    quantity: int
    asset_days: int
    rate_percent: Decimal
    unit: Decimal
    revenue: Decimal
    excluded_connection_fee: Decimal
    electricity_cost: Decimal
    electricity_deducted: Decimal
    shareable: Decimal
    partner_share: Decimal
    operator_share: Decimal
    reimbursement: Decimal
    fee: Decimal
    discount: Decimal
    charged_excl_vat: Decimal
    vat: Decimal
    amount: Decimal


class SessionLineOut(Schema):
    session_id: int
    cdr_id: str
    start: dt.datetime
    kind: str
    currency: str = Field(description="The session's currency, the currency of its amounts.")
    is_adjustment: bool
    original_month: str
    current_type: str
    flagged: bool
    energy_kwh: Decimal
    revenue: Decimal
    excluded_connection_fee: Decimal
    electricity_cost: Decimal
    electricity_deducted: Decimal
    shareable: Decimal
    rate_percent: Decimal
    partner_share: Decimal
    operator_share: Decimal
    reimbursement: Decimal
    session_fee: Decimal
    kwh_fee: Decimal
    handling_fee: Decimal
    discount: Decimal
    charged_excl_vat: Decimal
    vat: Decimal
    amount: Decimal


class RunningOut(Schema):
    partner_id: int
    month: str
    currency: str
    status: Literal["running", "final"]
    number: str | None
    warning: str
    totals: dict[str, Decimal]
    lines: list[LineOut]


class RunIn(Schema):
    model_config = ConfigDict(extra="forbid")

    month: MonthText
    finalise: bool = Field(False, description="Finalise the month's drafts after computing.")
    recompute: bool = Field(
        True,
        description="False (with finalise): finalise the month's drafts as they are, without "
        "computing them again.",
    )


class RunOut(Schema):
    id: int
    month: str
    status: str
    finalise: bool
    recompute: bool
    statements: int
    sessions: int
    adjustments: int
    finalised: int
    skipped_final: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_month(obj) -> str:
        return f"{obj.month:%Y-%m}"


class PaymentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["received", "made"] = Field(
        description="received: the partner paid the operator; made: the operator paid it."
    )
    paid_on: dt.date
    amount: Annotated[Decimal, Field(gt=0, le=Decimal("100000000000"), decimal_places=3)]
    note: ShortText(500) = Field(
        default="", description="Shown to the partner with the payment on its statement."
    )
    allow_excess: bool = Field(
        default=False,
        description="Record it although it is more than the open balance in its direction, or "
        "against it (an overpayment, or the refund of one). Without it such a payment is "
        "refused (400).",
    )


class PaymentOut(Schema):
    id: int
    statement_id: int
    direction: str
    paid_on: dt.date
    amount: Decimal
    note: str
    created_at: dt.datetime

    @staticmethod
    def resolve_amount(obj) -> Decimal:
        return from_minor(obj.amount_minor, obj.statement.currency)


class SupplierOut(Schema):
    kind: Literal["partner", "operator"]
    partner_id: int | None
    name: str
    address: str
    vat_id: str


class ReceiptSessionOut(Schema):
    cdr_id: str
    start: dt.datetime
    end: dt.datetime
    location: str
    energy_kwh: Decimal
    payment_method: str
    total_excl_vat: Decimal
    vat: Decimal
    total_incl_vat: Decimal


class ReceiptOut(Schema):
    supplier: SupplierOut
    month: dt.date
    currency: str
    sessions: list[ReceiptSessionOut]
    total_excl_vat: Decimal
    vat: Decimal
    total_incl_vat: Decimal


class IssuedReceiptOut(ReceiptOut):
    """A receipt issued in the partner's name, and the driver it was issued to."""

    driver_id: int
    driver_external_id: str
