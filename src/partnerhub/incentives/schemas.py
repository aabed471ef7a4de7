"""Request and response shapes of /api/v1/incentives. Amounts are decimal strings in the
currency's digits beside their integer minor units; never floats."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

Kind = Literal["commission", "referral_fee", "rebate", "mdf", "spiff"]
EntryTypeLit = Literal["accrual", "adjustment", "reversal", "release", "payout"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
Amount = Annotated[Decimal, Field(ge=Decimal("-1000000000000"), le=Decimal("1000000000000"))]
MAX_PAYMENT_ROWS = 10_000


def _dec(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency)


class LedgerEntryOut(Schema):
    id: int
    partner_id: int
    partner_name: str
    program_id: int | None
    kind: Kind
    entry_type: EntryTypeLit
    amount: Decimal
    amount_minor: int
    currency: str
    booked_on: dt.date
    payable: bool
    source_type: str
    source_id: int | None
    basis_minor: int | None
    rate_bp: int | None
    memo: str
    run_id: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_amount(obj) -> Decimal:
        return _dec(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name


class BalanceOut(Schema):
    partner_id: int
    kind: Kind
    currency: str
    total: Decimal = Field(description="Everything owed: payable + held.")
    payable: Decimal
    held: Decimal
    total_minor: int
    payable_minor: int
    held_minor: int


class IncentiveStatementEntryOut(Schema):
    id: int
    booked_on: dt.date
    kind: Kind
    entry_type: EntryTypeLit
    amount: Decimal
    amount_minor: int
    payable: bool
    memo: str
    source_type: str
    source_id: int | None
    description: str


class KindTotalOut(Schema):
    kind: Kind
    amount: Decimal
    amount_minor: int


class IncentiveCurrencyStatementOut(Schema):
    currency: str
    opening: Decimal
    opening_minor: int
    entries: list[IncentiveStatementEntryOut]
    totals_by_kind: list[KindTotalOut]
    period_total: Decimal
    closing: Decimal
    closing_minor: int
    closing_payable: Decimal
    closing_held: Decimal


class IncentiveStatementOut(Schema):
    partner_id: int
    partner_name: str
    date_from: dt.date
    date_to: dt.date
    currencies: list[IncentiveCurrencyStatementOut]


class IncentiveStatementQuery(Schema):
    date_from: dt.date | None = Field(None, description="Default: 1 January of this year.")
    date_to: dt.date | None = Field(None, description="Default: today.")


class AccrualRunIn(Schema):
    model_config = ConfigDict(extra="forbid")

    on: dt.date | None = Field(
        None, description="The day releases and referral fees are booked (default today)."
    )


class AccrualRunOut(Schema):
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    from_line_id: int
    through_line_id: int
    lines: int
    entries: int
    payments: int
    triggered_by: str | None

    @staticmethod
    def resolve_triggered_by(obj) -> str | None:
        return obj.triggered_by.email if obj.triggered_by_id else None


class PaymentRowIn(Schema):
    model_config = ConfigDict(extra="forbid")

    external_id: ShortText(100) | None = None
    billing_line: ShortText(100) | None = Field(None, description="The line's external id.")
    amount: ShortText(40) | None = Field(None, description='Decimal string, e.g. "120.00".')
    paid_on: ShortText(10) | None = Field(None, description="YYYY-MM-DD")


class PaymentsImportIn(Schema):
    rows: list[PaymentRowIn] = Field(..., min_length=1, max_length=MAX_PAYMENT_ROWS)


class PaymentsReportOut(Schema):
    rows: int
    created: int
    unchanged: int


class ElectionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: IdValue | None = Field(
        None, description="Staff only (partner users elect for their own organisation)."
    )
    program: Key | None = Field(None, description="Needed when the partner is in several.")
    choice: Literal["fee", "discount"]
    effective_from: dt.date | None = Field(
        None, description="Today (default) or later; applies to referrals submitted from then."
    )
    reason: ShortText(2000) = ""


class ElectionOut(Schema):
    id: int
    partner_id: int
    program: str
    choice: str
    effective_from: dt.date
    reason: str
    elected_by: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_elected_by(obj) -> str | None:
        return obj.elected_by.email if obj.elected_by_id else None


class ElectionFilter(Schema):
    partner_id: IdValue | None = None


class RebateCloseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    program: Key
    rebate: Key
    period_day: dt.date = Field(description="Any day of the (ended) period to close.")


class RebateCloseOut(Schema):
    id: int
    program: str
    rebate_key: str
    period_start: dt.date
    period_end: dt.date
    partners: int
    total_minor: int
    closed_at: dt.datetime

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key


class SpiffIn(Schema):
    model_config = ConfigDict(extra="forbid")

    program: Key
    name: ShortText(200, 1)
    description: ShortText(5000) = ""
    basis: Literal["sale", "activity"] = "sale"
    products: list[ShortText(64, 1)] = Field(
        default_factory=list, max_length=500, description="SKUs (sale campaigns)."
    )
    eligible_tiers: list[Key] = Field(default_factory=list, max_length=100)
    starts_on: dt.date
    ends_on: dt.date
    bounty: Annotated[Decimal, Field(gt=0, le=Decimal("1000000000"))]
    currency: Currency
    max_claims_per_partner: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class SpiffOut(Schema):
    id: int
    program: str
    name: str
    description: str
    basis: str
    products: list[str]
    eligible_tiers: list[str]
    starts_on: dt.date
    ends_on: dt.date
    bounty: Decimal
    bounty_minor: int
    currency: str
    max_claims_per_partner: int | None

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_products(obj) -> list[str]:
        return [p.sku for p in obj.products.all()]

    @staticmethod
    def resolve_bounty(obj) -> Decimal:
        return _dec(obj.bounty_minor, obj.currency)


class SpiffFilter(Schema):
    open_on: dt.date | None = Field(None, description="Only campaigns running on that day.")


class SpiffClaimIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: IdValue | None = Field(
        None, description="Staff only (partner users claim for their own organisation)."
    )
    billing_line: ShortText(100) | None = Field(
        None, description="The sale's billing line (external id), for sale campaigns."
    )
    activity: ShortText(300) = ""
    activity_on: dt.date | None = None


class SpiffClaimOut(Schema):
    id: int
    campaign_id: int
    campaign: str
    partner_id: int
    billing_line: str | None
    activity: str
    activity_on: dt.date
    status: str
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str

    @staticmethod
    def resolve_campaign(obj) -> str:
        return obj.campaign.name

    @staticmethod
    def resolve_billing_line(obj) -> str | None:
        return obj.billing_line.external_id if obj.billing_line_id else None


class SpiffClaimFilter(Schema):
    partner_id: IdValue | None = None
    status: Literal["submitted", "approved", "rejected"] | None = None
    campaign_id: IdValue | None = None


class SpiffDecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: ShortText(2000) = ""


class AdjustmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: IdValue
    kind: Kind
    amount: Amount = Field(description="Signed: positive owes the partner more.")
    currency: Currency
    booked_on: dt.date
    reason: ShortText(300, 1)
    program: Key | None = None


class PayoutIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reference: ShortText(64, 1)
    as_of: dt.date
    currency: Currency | None = Field(None, description="Default: every currency.")


class PayoutOut(Schema):
    id: int
    reference: str
    as_of: dt.date
    currency: str
    partners: int
    total_minor: int
    created_at: dt.datetime
    created_by: str | None

    @staticmethod
    def resolve_created_by(obj) -> str | None:
        return obj.created_by.email if obj.created_by_id else None


class LedgerFilter(Schema):
    partner_id: IdValue | None = None
    kind: Kind | None = None
    entry_type: EntryTypeLit | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class BalanceFilter(Schema):
    partner_id: IdValue | None = None
