import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

Source = Literal["partner_sourced", "partner_influenced", "referral"]
Status = Literal["draft", "submitted", "approved", "rejected", "won", "lost", "expired"]
Amount = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000000"), decimal_places=4)]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000"), decimal_places=3)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]


class ProductLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    sku: ShortText(64, 1) | None = Field(None, description="Instead of product_id.")
    quantity: Quantity = Decimal(1)


class RegistrationIn(Schema):
    """One customer opportunity. Products, a positive value and a close date within the
    program's horizon are required: a whole account cannot be registered."""

    model_config = ConfigDict(extra="forbid")

    partner_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="Staff only (partner users register for their own organisation)."
    )
    program: Key | None = Field(None, description="Needed when the partner is in several.")
    customer_name: ShortText(200, 1)
    customer_website: ShortText(253) = ""
    customer_country: Country
    customer_address: ShortText(1000) = ""
    contact_name: ShortText(200) = ""
    contact_email: ShortText(254) = ""
    products: Annotated[list[ProductLineIn], Field(min_length=1, max_length=100)]
    estimated_value: Amount
    currency: Currency
    expected_close_date: dt.date
    source: Source
    notes: ShortText(5000) = ""
    submit: bool = Field(False, description="Submit at once instead of saving a draft.")


class RegistrationPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_name: ShortText(200, 1) | None = None
    customer_website: ShortText(253) | None = None
    customer_country: Country | None = None
    customer_address: ShortText(1000) | None = None
    contact_name: ShortText(200) | None = None
    contact_email: ShortText(254) | None = None
    products: Annotated[list[ProductLineIn], Field(min_length=1, max_length=100)] | None = None
    estimated_value: Amount | None = None
    currency: Currency | None = None
    expected_close_date: dt.date | None = None
    source: Source | None = None
    notes: ShortText(5000) | None = None


class ConflictCheckIn(Schema):
    """What the partner has typed so far; any field may be missing."""

    model_config = ConfigDict(extra="forbid")

    customer_name: ShortText(200) = ""
    customer_website: ShortText(253) = ""
    contact_email: ShortText(254) = ""
    customer_country: Annotated[str, Field(pattern=r"^([A-Za-z]{2})?$")] = ""


class MatchFieldOut(Schema):
    field: str
    score: float
    detail: str


class ConflictOut(Schema):
    registration_id: int | None = Field(
        description="Empty when the registration belongs to another partner."
    )
    reference: str | None
    partner_id: int | None
    partner_name: str | None
    own: bool = Field(description="The registration is your own organisation's.")
    customer_name: str | None
    status: str
    submitted_at: dt.datetime | None
    protected_until: dt.date | None
    score: float
    fields: list[MatchFieldOut]


class ConflictCheckOut(Schema):
    protected: bool = Field(
        description="Another partner holds an approved, protected registration of this customer."
    )
    message: str
    conflicts: list[ConflictOut]


class ProductLineOut(Schema):
    product_id: int
    sku: str
    name: str
    quantity: str

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.product.name

    @staticmethod
    def resolve_quantity(obj) -> str:
        return (
            str(obj.quantity.normalize())
            if obj.quantity == obj.quantity.to_integral()
            else (str(obj.quantity))
        )


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    uploaded_at: dt.datetime


class DealStatusChangeOut(Schema):
    from_status: str
    to_status: str
    at: dt.datetime
    by: str | None
    reason: str

    @staticmethod
    def resolve_by(obj) -> str | None:
        return obj.by.email if obj.by_id else None


class ExtensionOut(Schema):
    id: int
    registration_id: int
    days: int
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str
    previous_until: dt.date | None
    new_until: dt.date | None


class RegistrationOut(Schema):
    id: int
    reference: str
    partner_id: int
    partner_name: str
    program: str
    status: Status
    flagged: bool
    customer_name: str
    customer_website: str
    customer_country: str
    customer_address: str
    contact_name: str
    contact_email: str
    products: list[ProductLineOut]
    estimated_value: str
    currency: str
    expected_close_date: dt.date
    source: Source
    notes: str
    submitted_at: dt.datetime | None
    approved_on: dt.date | None
    protection_days: int | None
    protected_until: dt.date | None
    decision_reason: str
    override_reason: str
    closed_on: dt.date | None
    close_reason: str
    won_billing_line_id: int | None
    attachments: list[AttachmentOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_products(obj):
        return list(obj.products.all())

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())

    @staticmethod
    def resolve_estimated_value(obj) -> str:
        return str(from_minor(obj.estimated_value_minor, obj.currency))


class RegistrationDetailOut(RegistrationOut):
    history: list[DealStatusChangeOut]
    extensions: list[ExtensionOut]

    @staticmethod
    def resolve_history(obj):
        return list(obj.history.all())

    @staticmethod
    def resolve_extensions(obj):
        return list(obj.extensions.all())


class ReviewItemOut(RegistrationOut):
    conflicts: list[ConflictOut] = Field(
        description="Active registrations of the same customer, found now (best match first)."
    )
    priority: bool = Field(description="No earlier active registration of this customer.")

    @staticmethod
    def resolve_conflicts(obj):
        return obj.conflicts_now

    @staticmethod
    def resolve_priority(obj) -> bool:
        return obj.priority


class ApproveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    override_reason: ShortText(2000) = Field(
        "", description="Required when an earlier active registration has priority."
    )


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText(2000, 1)


class CloseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["won", "lost"]
    reason: ShortText(2000) = ""


class ExtensionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    days: Annotated[int, Field(ge=1, le=365)]
    reason: ShortText(2000, 1)


class ExtensionDecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: ShortText(2000) = ""


class JobOut(Schema):
    expired: int = 0
    won: int = 0


class ImportErrorOut(Schema):
    row: int
    column: str
    message: str


class DealImportReportOut(Schema):
    rows: int
    created: int
    unchanged: int
    submitted: int
    errors: list[ImportErrorOut]
    refused: bool
