"""Shapes of /api/v1/quotes: amounts are decimal strings in the quote's currency."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1000000"), decimal_places=3)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Amount = Annotated[Decimal, Field(gt=0, le=Decimal("10000000000000"), decimal_places=3)]
PurchasePathLiteral = Literal["direct", "distributor"]
QuoteStatusLiteral = Literal["draft", "accepted", "expired"]


def _money(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency))


class QuoteLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product_id: Id | None = None
    sku: ShortText(64, 1) | None = Field(None, description="Instead of product_id.")
    quantity: Quantity = Decimal(1)


class QuoteIn(Schema):
    """What to price: products and quantities, the purchase path, optionally a protected
    deal registration of the partner."""

    model_config = ConfigDict(extra="forbid")

    partner_id: Id | None = Field(
        None, description="Staff only (partner users quote for their own organisation)."
    )
    program: Key | None = Field(None, description="Needed when the partner is in several.")
    quote_date: dt.date | None = Field(None, description="Default: today.")
    purchase_path: PurchasePathLiteral = "direct"
    distributor_id: Id | None = Field(None, description="Required for the distributor path.")
    registration_id: Id | None = None
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=100)]


class StepOut(Schema):
    label: str
    percent: str | None = Field(
        None, description="Percent off (negative: percentage points given back)."
    )
    amount: str = Field(description="Amount off one unit (negative: added back).")


class QuoteLineOut(Schema):
    product_id: int
    sku: str
    name: str
    quantity: Decimal
    list_price: str
    unit_net: str
    line_total: str
    steps: list[StepOut]


class DistributorOut(Schema):
    id: int
    name: str


class QuotePreviewOut(Schema):
    partner_id: int
    program: str
    quote_date: dt.date
    valid_until: dt.date
    purchase_path: PurchasePathLiteral
    distributor_id: int | None
    registration_id: int | None
    currency: str
    list_total: str
    total: str
    direct_allowed: bool
    direct_message: str
    distributors: list[DistributorOut]
    lines: list[QuoteLineOut]


class QuoteOut(Schema):
    id: int
    number: str
    partner_id: int
    partner_name: str
    program: str
    quote_date: dt.date
    valid_until: dt.date
    purchase_path: PurchasePathLiteral
    distributor_id: int | None
    registration_id: int | None
    currency: str
    status: QuoteStatusLiteral
    list_total: str
    total: str
    direct_allowed: bool
    direct_message: str
    accepted_at: dt.datetime | None

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_list_total(obj) -> str:
        return _money(obj.list_total_minor, obj.currency)

    @staticmethod
    def resolve_total(obj) -> str:
        return _money(obj.total_minor, obj.currency)


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_lines(obj) -> list[dict]:
        cur = obj.currency
        return [
            {
                "product_id": line.product_id,
                "sku": line.product.sku,
                "name": line.product.name,
                "quantity": line.quantity,
                "list_price": _money(line.list_price_minor, cur),
                "unit_net": _money(line.unit_net_minor, cur),
                "line_total": _money(line.line_total_minor, cur),
                "steps": line.steps,
            }
            for line in obj.lines.all()
        ]


class CreditLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    limit: Amount
    currency: Currency
    approved_on: dt.date | None = Field(None, description="Default: today.")
    expires_on: dt.date | None = None
    notes: ShortText(2000) = ""


class CreditLineOut(Schema):
    partner_id: int
    partner_name: str
    limit: str
    currency: str
    approved_by: str | None
    approved_on: dt.date
    expires_on: dt.date | None
    notes: str

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name

    @staticmethod
    def resolve_limit(obj) -> str:
        return _money(obj.limit_minor, obj.currency)

    @staticmethod
    def resolve_approved_by(obj) -> str | None:
        return obj.approved_by.email if obj.approved_by_id else None


class CreditStatusOut(Schema):
    """The partner's credit line (null when it has none) and its use on ``on``."""

    partner_id: int
    on: dt.date
    credit_line: CreditLineOut | None
    used: str | None
    available: str | None
    expired: bool


class NfrIn(Schema):
    model_config = ConfigDict(extra="forbid")

    partner_id: Id | None = Field(None, description="Staff only.")
    program: Key | None = None
    product_id: Id | None = None
    sku: ShortText(64, 1) | None = Field(None, description="Instead of product_id.")
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1
    is_renewal: bool = False
    renews_id: Id | None = Field(None, description="The earlier purchase a renewal renews.")
    bundle: Annotated[list[Id | ShortText(64, 1)], Field(max_length=20)] = Field(
        default_factory=list, description="Product ids or SKUs ordered with a new NFR unit."
    )


class NfrOut(Schema):
    id: int
    partner_id: int
    partner_name: str
    program: str
    product_id: int
    sku: str
    quantity: int
    is_renewal: bool
    renews_id: int | None
    ordered_on: dt.date
    bundle_product_ids: list[int]
    list_price: str
    price: str
    currency: str

    @staticmethod
    def resolve_partner_name(obj) -> str:
        return obj.partner.display_name

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_list_price(obj) -> str:
        return _money(obj.list_price_minor, obj.currency)

    @staticmethod
    def resolve_price(obj) -> str:
        return _money(obj.price_minor, obj.currency)
