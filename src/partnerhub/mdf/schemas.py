import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

Amount = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000000"), decimal_places=4)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
PartnerId = Annotated[int, Field(ge=1, le=MAX_ID)]
RequestStatus = Literal["submitted", "approved", "rejected", "claimed", "paid", "closed"]
ClaimStatus = Literal["submitted", "approved", "rejected"]
ActivityType = Literal["event", "trade_show", "webinar", "digital", "print", "training", "other"]


def _amount(minor, currency) -> str | None:
    return None if minor is None else str(from_minor(minor, currency))


class MdfAllocationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: PartnerId
    program: Key | None = Field(None, description="Needed when the partner is in several.")
    quarter_start: dt.date = Field(description="First day of a fiscal quarter of the program.")
    amount: Amount
    currency: Currency | None = Field(None, description="Default: the program's currency.")
    reason: ShortText(2000, 1)


class MdfAllocationOut(Schema):
    id: int
    partner_id: int
    program: str
    quarter_start: dt.date
    amount: str
    currency: str
    reason: str
    created_at: dt.datetime

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_amount(obj) -> str:
        return _amount(obj.amount_minor, obj.currency)


class MdfFundOut(Schema):
    """One fund (program and currency): the held MDF, what approved requests reserve, what is
    left to approve, and what claims have reimbursed (payable: not yet paid out)."""

    program: str
    currency: str
    fund: str
    committed: str
    available: str
    reimbursed: str
    payable: str


class MdfRequestIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: PartnerId | None = Field(
        None, description="Staff only (partner users request for their own organisation)."
    )
    program: Key | None = Field(None, description="Needed when the partner is in several.")
    title: ShortText(200, 1)
    description: ShortText(5000) = ""
    activity_type: ActivityType
    starts_on: dt.date
    ends_on: dt.date
    budget: Amount = Field(description="The whole activity's budget.")
    currency: Currency | None = Field(None, description="Default: the program's currency.")
    vendor_share_percent: Percent | None = Field(
        None, description="Default (and maximum): the program's MDF vendor share."
    )


class MdfApproveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = Field(None, description="Default: the requested amount.")
    reason: ShortText(2000) = ""


class MdfReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText(2000, 1)


class MdfOptionalReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText(2000) = ""


class MdfProofOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    uploaded_at: dt.datetime


class MdfClaimOut(Schema):
    id: int
    request_id: int
    partner_id: int
    status: ClaimStatus
    actual_cost: str
    currency: str
    reimbursed: str | None
    notes: str
    decision_reason: str
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    proofs: list[MdfProofOut]

    @staticmethod
    def resolve_actual_cost(obj) -> str:
        return _amount(obj.actual_cost_minor, obj.currency)

    @staticmethod
    def resolve_reimbursed(obj) -> str | None:
        return _amount(obj.reimbursed_minor, obj.currency)

    @staticmethod
    def resolve_proofs(obj):
        return list(obj.proofs.all())


class MdfRequestOut(Schema):
    id: int
    reference: str
    partner_id: int
    partner_name: str
    program: str
    title: str
    description: str
    activity_type: ActivityType
    starts_on: dt.date
    ends_on: dt.date
    budget: str
    currency: str
    vendor_share_percent: Decimal
    requested: str
    approved: str | None
    status: RequestStatus
    decision_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_budget(obj) -> str:
        return _amount(obj.budget_minor, obj.currency)

    @staticmethod
    def resolve_requested(obj) -> str:
        return _amount(obj.requested_minor, obj.currency)

    @staticmethod
    def resolve_approved(obj) -> str | None:
        return _amount(obj.approved_minor, obj.currency)


class RequestDetailOut(MdfRequestOut):
    claims: list[MdfClaimOut]

    @staticmethod
    def resolve_claims(obj):
        return list(obj.claims.all())


class MdfExpireIn(Schema):
    model_config = ConfigDict(extra="forbid")

    as_of: dt.date | None = Field(None, description="Default: today.")


class MdfExpiryRunOut(Schema):
    id: int
    program: str
    period_start: dt.date
    period_end: dt.date
    partners: int

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key
