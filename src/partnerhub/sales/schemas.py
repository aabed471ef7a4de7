import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

# Amounts travel as decimal strings ("1234.50"): JSON numbers are floats and not exact.
# Whole numbers may also be sent as JSON integers.
BigInt = Annotated[int, Field(ge=-(10**15), le=10**15)]
Amount = BigInt | ShortText(32, 1)
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)] | ShortText(20)
FilterId = Annotated[int, Field(ge=1, le=MAX_ID)]
Key = ShortText(64, 1)

MAX_JSON_ROWS = 10_000
MAX_REPORTED_ERRORS = 1000


class ProductCategoryIn(Schema):
    key: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
    name: ShortText(200, 1)


class ProductCategoryOut(Schema):
    id: int
    key: str
    name: str


class ProductIn(Schema):
    sku: ShortText(64, 1)
    name: ShortText(200, 1)
    category: Key = Field(description="The category's key.")
    list_price: Amount = Field(description='Decimal string in the currency, e.g. "1299.00".')
    currency: ShortText(3, 3) = Field(description="ISO 4217 code, e.g. EUR.")
    required_certification: Key | None = Field(
        None, description="Key of the certification a partner needs to sell it."
    )
    is_active: bool = True


class ProductPatch(Schema):
    sku: ShortText(64, 1) | None = None
    name: ShortText(200, 1) | None = None
    category: Key | None = None
    list_price: Amount | None = None
    currency: ShortText(3, 3) | None = None
    required_certification: Key | None = None
    is_active: bool | None = None


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    category_name: str
    list_price: str
    currency: str
    required_certification: str | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_category(obj) -> str:
        return obj.category.key

    @staticmethod
    def resolve_category_name(obj) -> str:
        return obj.category.name

    @staticmethod
    def resolve_list_price(obj) -> str:
        return str(from_minor(obj.list_price_minor, obj.currency))

    @staticmethod
    def resolve_required_certification(obj) -> str | None:
        cert = obj.required_certification
        return cert.key if cert else None


class BillingRowIn(Schema):
    """One billing line, with the columns of the CSV format (see docs/sales-import.md).
    Everything is optional here so that a missing value is reported with its row (400)."""

    model_config = ConfigDict(extra="forbid")

    external_id: ShortText(100) | None = None
    partner_id: IdValue | None = None
    partner_duns: ShortText(20) | None = None
    customer_id: ShortText(64) | None = None
    customer_name: ShortText(200) | None = None
    customer_country: ShortText(2) | None = None
    customer_activated_on: ShortText(10) | None = Field(None, description="YYYY-MM-DD")
    sku: ShortText(64) | None = None
    quantity: Amount | None = Field(None, description='Decimal string, e.g. "2" or "1.5".')
    net_amount: Amount | None = Field(
        None, description='Decimal string, negative for credits, e.g. "-120.00".'
    )
    currency: ShortText(3) | None = None
    invoice_date: ShortText(10) | None = Field(None, description="YYYY-MM-DD")
    purchase_path: ShortText(16) | None = Field(None, description="direct (default) or distributor")
    distributor_id: IdValue | None = None
    distributor_duns: ShortText(20) | None = None
    is_renewal: bool | None = None


class BillingImportIn(Schema):
    rows: list[BillingRowIn] = Field(..., min_length=1, max_length=MAX_JSON_ROWS)
    partial: bool = Field(
        False,
        description="Store the good rows and report the bad ones (default: any bad row "
        "refuses the whole request with 400).",
    )


class BillingImportErrorOut(Schema):
    row: int
    column: str
    message: str


class BillingImportReportOut(Schema):
    rows: int = Field(description="Rows read.")
    created: int = Field(description="Lines stored now.")
    unchanged: int = Field(description="Lines already imported with identical values.")
    customers_created: int
    refused: bool
    partial: bool
    bad_rows: int
    error_count: int
    errors: list[BillingImportErrorOut] = Field(
        description=f"The first {MAX_REPORTED_ERRORS} errors, by row."
    )


class BillingLineOut(Schema):
    id: int
    external_id: str
    partner_id: int
    customer_id: str = Field(description="The customer's ERP id.")
    customer_name: str
    sku: str
    product_name: str
    quantity: str
    net_amount: str
    currency: str
    invoice_date: dt.date
    purchase_path: str
    distributor_id: int | None
    is_renewal: bool
    imported_at: dt.datetime

    @staticmethod
    def resolve_customer_id(obj) -> str:
        return obj.customer.external_id

    @staticmethod
    def resolve_customer_name(obj) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_product_name(obj) -> str:
        return obj.product.name

    @staticmethod
    def resolve_quantity(obj) -> str:
        return str(obj.quantity)

    @staticmethod
    def resolve_net_amount(obj) -> str:
        return str(from_minor(obj.net_amount_minor, obj.currency))


class BillingLineFilter(Schema):
    partner_id: FilterId | None = Field(None, description="The partner that sold the line.")
    distributor_id: FilterId | None = Field(
        None, description="The distributor the line was bought through."
    )
    customer_id: ShortText(64) | None = Field(None, description="The customer's ERP id.")
    sku: ShortText(64) | None = None
    date_from: dt.date | None = Field(None, description="Invoice date on or after.")
    date_to: dt.date | None = Field(None, description="Invoice date on or before.")


class ProductFilter(Schema):
    q: ShortText(200) | None = None
    category: ShortText(64) | None = None
    is_active: bool | None = None


class CustomerFilter(Schema):
    q: ShortText(200) | None = None


class CustomerOut(Schema):
    id: int
    external_id: str
    name: str
    country: str
    website_domain: str
    activated_on: dt.date
    created_at: dt.datetime
