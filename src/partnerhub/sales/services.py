"""Every write to the sales app: categories, products, customers and billing-line imports.

Services are keyword-only, run in one transaction and validate fully before writing. Money
enters as an exact ``Decimal`` and is stored as integer minor units (``core.money``); an
amount with more decimals than its currency has is refused, never rounded silently.

``billing_lines_import`` is the hot path (ERP exports of a million lines): rows are read in
chunks, every reference (partners, products, customers, already imported lines) is resolved
with one query per kind and chunk, and lines are written with ``bulk_create``. Billing lines
are never updated: an external id already imported with other values is an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.money import minor_digits
from partnerhub.partners.models import Partner, PartnerStatus
from partnerhub.partners.validation import normalize_duns
from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory, PurchasePath

logger = logging.getLogger(__name__)

MAX_MINOR = 10**15  # ten trillion in a two-digit currency: far above any real line or price
MAX_QUANTITY = Decimal(10) ** 11  # BillingLine.quantity: 14 digits, 3 of them decimals
QUANTITY_DIGITS = 3
MAX_PARTNER_ID = 2**53
CHUNK_SIZE = 2000  # rows validated, resolved and written together
BATCH_SIZE = 1000  # rows per INSERT (SQLite lowers it to fit its variable limit)

# Reserved keys a row dict may carry besides its columns (CSV readers set them).
ROW_KEY = "_row"  # the row's number as the source counts it (CSV: its line number)
ROW_ERROR_KEY = "_error"  # a problem found while reading the row (e.g. wrong field count)

# Billing-line columns: name -> (required, max length). Partner and distributor are each
# identified by exactly one of two columns (PartnerHub id or DUNS number).
BILLING_COLUMNS: dict[str, tuple[bool, int]] = {
    "external_id": (True, 100),
    "partner_id": (False, 20),
    "partner_duns": (False, 20),
    "customer_id": (True, 64),
    "customer_name": (True, 200),
    "customer_country": (False, 2),
    "customer_activated_on": (False, 10),
    "sku": (True, 64),
    "quantity": (True, 32),
    "net_amount": (True, 32),
    "currency": (True, 3),
    "invoice_date": (True, 10),
    "purchase_path": (False, 16),
    "distributor_id": (False, 20),
    "distributor_duns": (False, 20),
    "is_renewal": (False, 5),
    "credits": (False, 100),
}
BILLING_ONE_OF = (("partner_id", "partner_duns"),)

PRODUCT_COLUMNS: dict[str, tuple[bool, int]] = {
    "sku": (True, 64),
    "name": (True, 200),
    "category": (True, 64),
    "list_price": (True, 32),
    "currency": (True, 3),
    "required_certification": (False, 64),
    "is_active": (False, 5),
}

_DECIMAL_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_ID_RE = re.compile(r"[0-9]{1,20}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


class RowInvalid(ValueError):
    """One column of one row is wrong; the message reads after "row N, column: "."""


# --- small parsers shared by products and billing lines ----------------------------------------


def _text(value: Any, column: str, max_length: int) -> str:
    """A row value as stripped text ("" when missing). Integers are fine; floats are not,
    as they cannot carry exact amounts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise RowInvalid(f"must be text, not {type(value).__name__}")
    value = value.strip()
    if "\x00" in value:
        raise RowInvalid("must not contain NUL characters")
    if len(value) > max_length:
        raise RowInvalid(f"is longer than {max_length} characters")
    return value


def parse_decimal(text: str, *, what: str) -> Decimal:
    if not _DECIMAL_RE.fullmatch(text):
        raise RowInvalid(
            f"{what} {text!r} is not a decimal number (digits with an optional '.' and "
            "decimals, no thousands separators)"
        )
    return Decimal(text)


def parse_amount(text: str, currency: str, *, what: str, allow_negative: bool) -> int:
    """A decimal amount in ``currency`` → exact minor units; too many decimals is an error."""
    amount = parse_decimal(text, what=what)
    if amount < 0 and not allow_negative:
        raise RowInvalid(f"{what} must not be negative")
    digits = minor_digits(currency)
    minor = amount.scaleb(digits)
    if amount.as_tuple().exponent < -digits and minor != minor.to_integral_value():
        allowed = f"{digits} decimals" if digits else "no decimals"
        raise RowInvalid(
            f"{what} {text} has more decimals than {currency} allows ({allowed}); "
            "amounts are not rounded on import"
        )
    minor = int(minor)
    if abs(minor) > MAX_MINOR:
        raise RowInvalid(f"{what} {text} is out of range")
    return minor


def parse_currency(text: str) -> str:
    if not _CURRENCY_RE.fullmatch(text):
        raise RowInvalid(f"{text!r} is not a currency code (3 capital letters, e.g. EUR)")
    return text


def parse_date(text: str, *, what: str) -> dt.date:
    if _DATE_RE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise RowInvalid(f"{what} {text!r} is not a date as YYYY-MM-DD")


def parse_bool(text: str | bool, *, what: str) -> bool:
    if isinstance(text, bool):
        return text
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RowInvalid(f"{what} {text!r} is not true or false")


# --- categories and products --------------------------------------------------------------


@transaction.atomic
def product_category_create(*, key: str, name: str, actor=None) -> ProductCategory:
    key, name = (key or "").strip(), (name or "").strip()
    if not key or len(key) > 64 or not _SLUG_RE.fullmatch(key):
        raise ValidationError(
            {"key": "A key of letters, digits, '-' and '_' (at most 64 characters)."}
        )
    if not name or len(name) > 200:
        raise ValidationError({"name": "A name of 1 to 200 characters."})
    if ProductCategory.objects.filter(key=key).exists():
        raise Conflict(f"A product category with key {key!r} exists.", field="key")
    return ProductCategory.objects.create(key=key, name=name)


def _certification_by_key(key: str | None):
    from partnerhub.training.models import Certification

    if not key:
        return None
    certification = Certification.objects.filter(key=key).first()
    if certification is None:
        raise ValidationError({"required_certification": f"No certification with key {key!r}."})
    return certification


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def _price_minor(list_price: Decimal | str | int, currency: str) -> int:
    if isinstance(list_price, float | bool) or list_price is None:
        raise ValidationError({"list_price": "A decimal amount (as text or Decimal)."})
    try:
        return parse_amount(str(list_price), currency, what="list_price", allow_negative=False)
    except RowInvalid as exc:
        raise ValidationError({"list_price": _sentence(exc)}) from None


def _check_currency(currency: str) -> str:
    try:
        return parse_currency(currency if isinstance(currency, str) else "")
    except RowInvalid as exc:
        raise ValidationError({"currency": _sentence(exc)}) from None


def _check_product_text(sku: str, name: str) -> None:
    if not sku or len(sku) > 64 or "\x00" in sku:
        raise ValidationError({"sku": "A SKU of 1 to 64 characters."})
    if not name or len(name) > 200 or "\x00" in name:
        raise ValidationError({"name": "A name of 1 to 200 characters."})


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    category: str,
    list_price: Decimal | str | int,
    currency: str,
    required_certification: str | None = None,
    is_active: bool = True,
    actor=None,
) -> Product:
    """Create a product; ``category`` and ``required_certification`` are keys."""
    sku, name = str(sku or "").strip(), str(name or "").strip()
    _check_product_text(sku, name)
    currency = _check_currency(currency)
    price = _price_minor(list_price, currency)
    cat = ProductCategory.objects.filter(key=category).first()
    if cat is None:
        raise ValidationError({"category": f"No product category with key {category!r}."})
    certification = _certification_by_key(required_certification)
    if Product.objects.filter(sku=sku).exists():
        raise Conflict(f"A product with SKU {sku!r} exists.", field="sku")
    return Product.objects.create(
        sku=sku,
        name=name,
        category=cat,
        list_price_minor=price,
        currency=currency,
        required_certification=certification,
        is_active=is_active,
    )


PRODUCT_UPDATE_FIELDS = {
    "sku",
    "name",
    "category",
    "list_price",
    "currency",
    "required_certification",
    "is_active",
}


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any], actor=None) -> Product:
    """Change a product. ``data`` holds any of PRODUCT_UPDATE_FIELDS; a changed currency
    without a new ``list_price`` keeps the price's amount (1234 JPY → 1234.00 EUR)."""
    from partnerhub.core.money import from_minor

    unknown = set(data) - PRODUCT_UPDATE_FIELDS
    if unknown:
        raise ServiceError(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    for name in sorted(data):
        if data[name] is None and name != "required_certification":
            raise ValidationError({name: "This field cannot be null."})
    product = Product.objects.select_for_update().get(pk=product.pk)
    sku = data["sku"].strip() if "sku" in data else product.sku
    name = data["name"].strip() if "name" in data else product.name
    _check_product_text(sku, name)
    currency = _check_currency(data["currency"]) if "currency" in data else product.currency
    if "list_price" in data:
        price = _price_minor(data["list_price"], currency)
    elif currency != product.currency:
        price = _price_minor(from_minor(product.list_price_minor, product.currency), currency)
    else:
        price = product.list_price_minor
    if "category" in data:
        cat = ProductCategory.objects.filter(key=data["category"]).first()
        if cat is None:
            raise ValidationError(
                {"category": f"No product category with key {data['category']!r}."}
            )
        product.category = cat
    if "required_certification" in data:
        product.required_certification = _certification_by_key(data["required_certification"])
    if sku != product.sku and Product.objects.filter(sku=sku).exclude(pk=product.pk).exists():
        raise Conflict(f"A product with SKU {sku!r} exists.", field="sku")
    if "is_active" in data:
        product.is_active = bool(data["is_active"])
    product.sku, product.name, product.currency, product.list_price_minor = (
        sku,
        name,
        currency,
        price,
    )
    product.save()
    return product


# --- customers ------------------------------------------------------------------------------


@transaction.atomic
def customer_upsert(
    *,
    external_id: str,
    name: str,
    activated_on: dt.date | None = None,
    country: str | None = None,
    website_domain: str | None = None,
    actor=None,
) -> tuple[Customer, bool]:
    """Create the customer with this ERP id, or update its name (and the other given fields).
    A new customer needs ``activated_on``. Returns ``(customer, created)``."""
    external_id, name = (external_id or "").strip(), (name or "").strip()
    if not external_id or len(external_id) > 64:
        raise ValidationError({"external_id": "An id of 1 to 64 characters."})
    if not name or len(name) > 200:
        raise ValidationError({"name": "A name of 1 to 200 characters."})
    if country and not _COUNTRY_RE.fullmatch(country):
        raise ValidationError({"country": "A country code of 2 capital letters."})
    if website_domain and len(website_domain) > 253:
        raise ValidationError({"website_domain": "At most 253 characters."})
    customer = Customer.objects.select_for_update().filter(external_id=external_id).first()
    if customer is None:
        if activated_on is None:
            raise ValidationError({"activated_on": "A new customer needs its activation date."})
        customer = Customer(
            external_id=external_id,
            name=name,
            activated_on=activated_on,
            country=country or "",
            website_domain=website_domain or "",
        )
        _set_identity_keys(customer)
        customer.save()
        return customer, True
    customer.name = name
    if activated_on is not None:
        customer.activated_on = activated_on
    if country is not None:
        customer.country = country
    if website_domain is not None:
        customer.website_domain = website_domain
    _set_identity_keys(customer)
    customer.save()
    return customer, False


def _orders_arrived() -> None:
    from partnerhub.deals.tasks import match_orders

    match_orders.enqueue()


def _set_identity_keys(customer: Customer) -> Customer:
    """The normalised name and domain keys deal registrations are matched on."""
    from partnerhub.deals.matching import identity

    ident = identity(customer.name, customer.website_domain, "", customer.country)
    customer.name_key = ident.name_key[:400]
    customer.domain_key = ident.domain
    return customer


# --- import reports -------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did. ``errors`` holds ``{"row", "column", "message"}`` dicts; when
    ``refused`` nothing was stored (``created`` is then 0)."""

    rows: int = 0
    created: int = 0
    unchanged: int = 0
    updated: int = 0  # products only: billing lines are never updated
    customers_created: int = 0
    errors: list[dict] = field(default_factory=list)
    refused: bool = False
    partial: bool = False

    @property
    def bad_rows(self) -> int:
        return len({e["row"] for e in self.errors})

    def add_error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})

    def as_dict(self, max_errors: int | None = None) -> dict:
        errors = self.errors if max_errors is None else self.errors[:max_errors]
        return {
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "customers_created": self.customers_created,
            "refused": self.refused,
            "partial": self.partial,
            "bad_rows": self.bad_rows,
            "error_count": len(self.errors),
            "errors": errors,
        }


def _numbered(rows: Iterable[dict], first_row: int) -> Iterator[tuple[int, dict]]:
    for index, raw in enumerate(rows):
        if not isinstance(raw, dict):
            raise ServiceError(f"Row {first_row + index} is not an object of columns.")
        yield raw.get(ROW_KEY, first_row + index), raw


# --- billing lines: parsing -----------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    row: int
    bad: bool = False
    external_id: str = ""
    partner_ref: tuple[str, Any] | None = None
    partner_column: str = ""
    distributor_ref: tuple[str, Any] | None = None
    distributor_column: str = ""
    customer_id: str = ""
    customer_name: str = ""
    customer_country: str = ""
    activated_on: dt.date | None = None
    sku: str = ""
    quantity: Decimal | None = None
    amount_minor: int | None = None
    currency: str = ""
    invoice_date: dt.date | None = None
    purchase_path: str = PurchasePath.DIRECT
    is_renewal: bool = False
    credits: str = ""
    credited_line_id: int | None = None
    partner_id: int | None = None
    distributor_id: int | None = None
    product_id: int | None = None

    def content(self) -> tuple:
        """What makes two imports of one external id the same line."""
        return (
            self.partner_id,
            self.customer_id,
            self.product_id,
            self.quantity,
            self.amount_minor,
            self.currency,
            self.invoice_date,
            self.purchase_path,
            self.distributor_id,
            self.is_renewal,
            self.credits or None,
        )


_CONTENT_NAMES = (
    "partner",
    "customer_id",
    "sku",
    "quantity",
    "net_amount",
    "currency",
    "invoice_date",
    "purchase_path",
    "distributor",
    "is_renewal",
    "credits",
)


def _partner_ref(raw: dict, id_col: str, duns_col: str, line: _Line, report: ImportReport):
    """("id", 42) or ("duns", "123456789") from whichever of the two columns is filled."""
    try:
        id_text = _text(raw.get(id_col), id_col, BILLING_COLUMNS[id_col][1])
    except RowInvalid as exc:
        report.add_error(line.row, id_col, str(exc))
        return None, id_col
    try:
        duns_text = _text(raw.get(duns_col), duns_col, BILLING_COLUMNS[duns_col][1])
    except RowInvalid as exc:
        report.add_error(line.row, duns_col, str(exc))
        return None, duns_col
    if id_text and duns_text:
        report.add_error(line.row, id_col, f"give {id_col} or {duns_col}, not both")
        return None, id_col
    if id_text:
        if not _ID_RE.fullmatch(id_text) or not 1 <= int(id_text) <= MAX_PARTNER_ID:
            report.add_error(line.row, id_col, f"{id_text!r} is not a partner id")
            return None, id_col
        return ("id", int(id_text)), id_col
    if duns_text:
        try:
            return ("duns", normalize_duns(duns_text)), duns_col
        except ValidationError:
            report.add_error(line.row, duns_col, f"{duns_text!r} is not a 9-digit DUNS number")
            return None, duns_col
    return None, ""


_PURCHASE_PATHS = frozenset(PurchasePath.values)


class _RowReader:
    """Reads one row's columns, recording each problem in the report under its column."""

    __slots__ = ("row", "raw", "report")

    def __init__(self, row: int, raw: dict, report: ImportReport):
        self.row, self.raw, self.report = row, raw, report

    def text(self, column: str) -> str:
        required, max_length = BILLING_COLUMNS[column]
        value = self.raw.get(column)
        if value.__class__ is str:  # the common case, kept fast
            value = value.strip()
            if len(value) > max_length or "\x00" in value:
                value = self._checked(column, value, max_length)
        else:
            value = self._checked(column, value, max_length)
        if value is None:
            return ""
        if not value and required:
            self.report.add_error(self.row, column, "is required")
        return value

    def _checked(self, column: str, value: Any, max_length: int) -> str | None:
        try:
            return _text(value, column, max_length)
        except RowInvalid as exc:
            self.report.add_error(self.row, column, str(exc))
            return None

    def parse(self, column: str, parser, *args, **kwargs):
        value = self.text(column)
        if not value:
            return None
        try:
            return parser(value, *args, **kwargs)
        except RowInvalid as exc:
            self.report.add_error(self.row, column, str(exc))
            return None


def _parse_line(row: int, raw: dict, report: ImportReport) -> _Line:
    line = _Line(row=row)
    errors_before = len(report.errors)
    if raw.get(ROW_ERROR_KEY):
        report.add_error(row, "", str(raw[ROW_ERROR_KEY]))
        line.bad = True
        return line
    read = _RowReader(row, raw, report)
    line.external_id = read.text("external_id")
    line.partner_ref, line.partner_column = _partner_ref(
        raw, "partner_id", "partner_duns", line, report
    )
    if line.partner_ref is None and not line.partner_column:
        report.add_error(row, "partner_id", "is required (or partner_duns)")
    line.customer_id = read.text("customer_id")
    line.customer_name = read.text("customer_name")
    line.customer_country = read.parse("customer_country", _parse_country) or ""
    line.activated_on = read.parse(
        "customer_activated_on", parse_date, what="customer_activated_on"
    )
    line.sku = read.text("sku")
    line.quantity = read.parse("quantity", _parse_quantity)
    currency = read.parse("currency", parse_currency)
    line.currency = currency or ""
    amount_text = read.text("net_amount")
    if amount_text:
        try:
            if currency:
                line.amount_minor = parse_amount(
                    amount_text, currency, what="net_amount", allow_negative=True
                )
            else:
                parse_decimal(amount_text, what="net_amount")
        except RowInvalid as exc:
            report.add_error(row, "net_amount", str(exc))
    line.invoice_date = read.parse("invoice_date", parse_date, what="invoice_date")
    path = read.text("purchase_path") or PurchasePath.DIRECT
    if path not in _PURCHASE_PATHS:
        report.add_error(row, "purchase_path", f"{path!r} is not direct or distributor")
    line.purchase_path = path
    line.distributor_ref, line.distributor_column = _partner_ref(
        raw, "distributor_id", "distributor_duns", line, report
    )
    if path == PurchasePath.DISTRIBUTOR and not line.distributor_column:
        report.add_error(
            row, "distributor_id", "is required (or distributor_duns) for purchase_path distributor"
        )
    elif path == PurchasePath.DIRECT and line.distributor_column:
        report.add_error(
            row,
            line.distributor_column,
            "a distributor is only given for purchase_path distributor",
        )
    if raw.get("is_renewal") not in (None, "", False):
        line.is_renewal = bool(read.parse("is_renewal", parse_bool, what="is_renewal"))
    line.credits = read.text("credits")
    if line.credits and line.amount_minor is not None and line.amount_minor >= 0:
        report.add_error(
            row, "credits", "only a credit note (a negative net_amount) credits another line"
        )
    line.bad = len(report.errors) > errors_before
    return line


def _parse_country(text: str) -> str:
    if not _COUNTRY_RE.fullmatch(text):
        raise RowInvalid(f"{text!r} is not a country code (2 capital letters, e.g. DE)")
    return text


def _parse_quantity(text: str) -> Decimal:
    quantity = parse_decimal(text, what="quantity")
    if quantity.as_tuple().exponent < -QUANTITY_DIGITS and quantity != quantity.quantize(
        Decimal(1).scaleb(-QUANTITY_DIGITS)
    ):
        raise RowInvalid(f"quantity {text} has more than {QUANTITY_DIGITS} decimals")
    if abs(quantity) >= MAX_QUANTITY:
        raise RowInvalid(f"quantity {text} is out of range")
    return quantity


# --- billing lines: resolving references in bulk ---------------------------------------------


class _Resolver:
    """Partners and products by their references, cached over the whole import (a few
    thousand at most); one query per kind for the references a chunk adds."""

    def __init__(self) -> None:
        self.partners: dict[tuple[str, Any], tuple[int, str] | str | None] = {}
        self.products: dict[str, int | None] = {}

    def load_partners(self, refs: set[tuple[str, Any]]) -> None:
        missing = refs - self.partners.keys()
        ids = {value for kind, value in missing if kind == "id"}
        duns = {value for kind, value in missing if kind == "duns"}
        for ref in missing:
            self.partners[ref] = None
        if ids:
            for pk, status in Partner.objects.filter(id__in=ids).values_list("id", "status"):
                self.partners[("id", pk)] = (pk, status)
        if duns:
            found: dict[str, list[tuple[int, str]]] = {}
            rows = Partner.objects.filter(duns__in=duns).values_list("duns", "id", "status")
            for number, pk, status in rows:
                found.setdefault(number, []).append((pk, status))
            for number, matches in found.items():
                self.partners[("duns", number)] = matches[0] if len(matches) == 1 else "ambiguous"

    def load_products(self, skus: set[str]) -> None:
        missing = skus - self.products.keys()
        for sku in missing:
            self.products[sku] = None
        if missing:
            self.products.update(Product.objects.filter(sku__in=missing).values_list("sku", "id"))


def _describe(ref: tuple[str, Any]) -> str:
    return f"id {ref[1]}" if ref[0] == "id" else f"DUNS {ref[1]}"


def _resolve(lines: list[_Line], resolver: _Resolver, report: ImportReport) -> None:
    refs = {ln.partner_ref for ln in lines if ln.partner_ref}
    refs |= {ln.distributor_ref for ln in lines if ln.distributor_ref}
    resolver.load_partners(refs)
    resolver.load_products({ln.sku for ln in lines if ln.sku})
    for ln in lines:
        errors_before = len(report.errors)
        if ln.partner_ref:
            found = resolver.partners[ln.partner_ref]
            if found is None:
                report.add_error(
                    ln.row, ln.partner_column, f"no partner with {_describe(ln.partner_ref)}"
                )
            elif found == "ambiguous":
                report.add_error(
                    ln.row,
                    ln.partner_column,
                    f"{_describe(ln.partner_ref)} belongs to several partners; use partner_id",
                )
            else:
                ln.partner_id = found[0]
        if ln.distributor_ref:
            found = resolver.partners[ln.distributor_ref]
            where = ln.distributor_column
            if found is None:
                report.add_error(ln.row, where, f"no partner with {_describe(ln.distributor_ref)}")
            elif found == "ambiguous":
                report.add_error(
                    ln.row,
                    where,
                    f"{_describe(ln.distributor_ref)} belongs to several partners; "
                    "use distributor_id",
                )
            elif found[1] != PartnerStatus.ACTIVE:
                report.add_error(
                    ln.row,
                    where,
                    f"the distributor (partner {found[0]}) is {found[1]}; "
                    "a distributor must be an active partner",
                )
            elif ln.partner_id is not None and found[0] == ln.partner_id:
                report.add_error(
                    ln.row, where, "the distributor cannot be the selling partner itself"
                )
            else:
                ln.distributor_id = found[0]
        if ln.sku:
            ln.product_id = resolver.products[ln.sku]
            if ln.product_id is None:
                report.add_error(ln.row, "sku", f"no product with SKU {ln.sku!r}")
        if len(report.errors) > errors_before:
            ln.bad = True


# --- billing lines: the import --------------------------------------------------------------


@dataclass
class _CustomerState:
    pk: int | None
    activated_on: dt.date | None
    original: dt.date | None
    name: str
    country: str


def _chunks(numbered: Iterator[tuple[int, dict]], size: int) -> Iterator[list]:
    while chunk := list(islice(numbered, size)):
        yield chunk


def _existing_lines(external_ids: set[str]) -> dict[str, tuple[int, tuple]]:
    rows = BillingLine.objects.filter(external_id__in=external_ids).values_list(
        "external_id",
        "id",
        "partner_id",
        "customer__external_id",
        "product_id",
        "quantity",
        "net_amount_minor",
        "currency",
        "invoice_date",
        "purchase_path",
        "distributor_id",
        "is_renewal",
        "credited_line__external_id",
    )
    return {r[0]: (r[1], tuple(r[2:])) for r in rows}


def _resolve_credits(lines: list[_Line], report: ImportReport) -> list[_Line]:
    """A credit note names the line it credits by external id: imported before (earlier
    chunks of this file are stored already) or in this chunk; same partner and currency.
    Returns the lines whose target is in this chunk: they are linked after it is stored."""
    wanted = {ln.credits for ln in lines if ln.credits and not ln.bad}
    if not wanted:
        return []
    found = {
        ext: (pk, partner_id, currency)
        for ext, pk, partner_id, currency in BillingLine.objects.filter(
            external_id__in=wanted
        ).values_list("external_id", "id", "partner_id", "currency")
    }
    in_chunk = {
        ln.external_id: (None, ln.partner_id, ln.currency)
        for ln in lines
        if ln.external_id in wanted and not ln.bad
    }
    pending = []
    for ln in lines:
        if not ln.credits or ln.bad:
            continue
        target = found.get(ln.credits) or in_chunk.get(ln.credits)
        if target is None:
            report.add_error(
                ln.row,
                "credits",
                f"no billing line {ln.credits!r} to credit; import the invoice line first",
            )
        elif target[1] != ln.partner_id or target[2] != ln.currency:
            report.add_error(
                ln.row,
                "credits",
                f"line {ln.credits!r} was sold by another partner or in another currency",
            )
        else:
            ln.credited_line_id = target[0]
            if target[0] is None:
                pending.append(ln)
            continue
        ln.bad = True
    return pending


def _differences(a: tuple, b: tuple) -> str:
    return ", ".join(name for name, x, y in zip(_CONTENT_NAMES, a, b, strict=True) if x != y)


def _classify(
    lines: list[_Line], report: ImportReport, last_id_before: int
) -> tuple[list[_Line], list[_Line]]:
    """Split the chunk's valid lines into new ones and unchanged re-imports; a changed
    re-import (or an in-file duplicate with other values) is an error."""
    candidates = [ln for ln in lines if not ln.bad]
    existing = _existing_lines({ln.external_id for ln in candidates})
    seen: dict[str, _Line] = {}
    new, unchanged = [], []
    for ln in candidates:
        content = ln.content()
        if ln.external_id in existing:
            pk, stored = existing[ln.external_id]
            if stored == content:
                unchanged.append(ln)
                continue
            earlier = "earlier in this file" if pk > last_id_before else "already imported"
            report.add_error(
                ln.row,
                "external_id",
                f"line {ln.external_id!r} was {earlier} with different values "
                f"({_differences(stored, content)}); billing lines are never changed: "
                "send a credit note line instead",
            )
            ln.bad = True
        elif ln.external_id in seen:
            first = seen[ln.external_id]
            if first.content() == content:
                unchanged.append(ln)
                continue
            report.add_error(
                ln.row,
                "external_id",
                f"line {ln.external_id!r} appears in row {first.row} with different values "
                f"({_differences(first.content(), content)})",
            )
            ln.bad = True
        else:
            seen[ln.external_id] = ln
            new.append(ln)
    return new, unchanged


def _store_customers(lines: list[_Line], report: ImportReport) -> dict[str, int]:
    """Create missing customers and move activation dates; returns external id -> pk.

    ``activated_on`` is the row's ``customer_activated_on`` when given; otherwise it is
    lowered to the row's invoice date when that is earlier (a new customer starts at it)."""
    wanted = {ln.customer_id for ln in lines}
    states: dict[str, _CustomerState] = {
        ext: _CustomerState(pk, activated, activated, "", "")
        for ext, pk, activated in Customer.objects.filter(external_id__in=wanted).values_list(
            "external_id", "id", "activated_on"
        )
    }
    for ln in lines:
        state = states.get(ln.customer_id)
        if state is None:
            state = states[ln.customer_id] = _CustomerState(
                None, None, None, ln.customer_name, ln.customer_country
            )
        if ln.activated_on is not None:
            state.activated_on = ln.activated_on
        elif state.activated_on is None or ln.invoice_date < state.activated_on:
            state.activated_on = ln.invoice_date
    to_create = [
        _set_identity_keys(
            Customer(external_id=ext, name=s.name, country=s.country, activated_on=s.activated_on)
        )
        for ext, s in states.items()
        if s.pk is None
    ]
    if to_create:
        created = Customer.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        if any(customer.pk is None for customer in created):  # SQLite before 3.35
            created = Customer.objects.filter(
                external_id__in=[c.external_id for c in to_create]
            ).only("pk", "external_id")
        for customer in created:
            states[customer.external_id].pk = customer.pk
        report.customers_created += len(to_create)
    changed: dict[dt.date, list[int]] = {}
    for s in states.values():
        if s.original is not None and s.activated_on != s.original:
            changed.setdefault(s.activated_on, []).append(s.pk)
    now = timezone.now()
    if len(changed) <= 50:  # usual: a chunk's invoices span a few days; one UPDATE per day
        for activated_on, pks in changed.items():
            Customer.objects.filter(pk__in=pks).update(activated_on=activated_on, updated_at=now)
    else:
        Customer.objects.bulk_update(
            [
                Customer(pk=pk, activated_on=day, updated_at=now)
                for day, pks in changed.items()
                for pk in pks
            ],
            ["activated_on", "updated_at"],
            batch_size=BATCH_SIZE,
        )
    return {ext: s.pk for ext, s in states.items()}


def billing_lines_import(
    *,
    rows: Iterable[dict],
    partial: bool = False,
    actor=None,
    first_row: int = 2,
) -> ImportReport:
    """Validate and store billing lines, idempotently by ``external_id``.

    ``rows`` are dicts keyed by the columns in BILLING_COLUMNS (values as text; ids and
    quantities may be ints); a row may carry its number under ROW_KEY, otherwise rows are
    numbered from ``first_row`` (2 for a CSV file whose header is row 1). All or nothing by
    default: any bad row and nothing is stored (``report.refused``); with ``partial`` the
    good rows are stored and the bad ones reported. Every error names its row and column.
    """
    report = ImportReport(partial=partial)
    resolver = _Resolver()
    try:
        with transaction.atomic():
            last_id_before = BillingLine.objects.aggregate(m=Max("id"))["m"] or 0
            for chunk in _chunks(_numbered(rows, first_row), CHUNK_SIZE):
                report.rows += len(chunk)
                lines = [_parse_line(row, raw, report) for row, raw in chunk]
                _resolve(lines, resolver, report)
                pending = _resolve_credits(lines, report)
                new, unchanged = _classify(lines, report, last_id_before)
                report.unchanged += len(unchanged)
                customers = _store_customers(new + unchanged, report) if new or unchanged else {}
                BillingLine.objects.bulk_create(
                    [
                        BillingLine(
                            external_id=ln.external_id,
                            partner_id=ln.partner_id,
                            customer_id=customers[ln.customer_id],
                            product_id=ln.product_id,
                            quantity=ln.quantity,
                            net_amount_minor=ln.amount_minor,
                            currency=ln.currency,
                            invoice_date=ln.invoice_date,
                            purchase_path=ln.purchase_path,
                            distributor_id=ln.distributor_id,
                            is_renewal=ln.is_renewal,
                            credited_line_id=ln.credited_line_id,
                        )
                        for ln in new
                    ],
                    batch_size=BATCH_SIZE,
                )
                report.created += len(new)
                for ln in pending:  # credit notes of a line of this same chunk
                    if not ln.bad:
                        BillingLine.objects.filter(external_id=ln.external_id).update(
                            credited_line=BillingLine.objects.get(external_id=ln.credits)
                        )
            report.errors.sort(key=lambda e: e["row"])
            if report.errors and not partial:
                transaction.set_rollback(True)
                report.refused = True
                report.created = 0
                report.customers_created = 0
            elif report.created:
                # New orders may close deal registrations as won (deals.tasks), after commit.
                transaction.on_commit(_orders_arrived)
    except IntegrityError as exc:
        logger.warning("billing import clashed with a concurrent write: %s", exc)
        raise Conflict(
            "Another import stored some of these lines or customers at the same time; "
            "nothing of this file was stored. Send it again."
        ) from None
    logger.info(
        "billing import by %s: %d rows, %d created, %d unchanged, %d errors%s",
        getattr(actor, "email", actor),
        report.rows,
        report.created,
        report.unchanged,
        len(report.errors),
        " (refused)" if report.refused else "",
    )
    return report


# --- products import ------------------------------------------------------------------------


def products_import(*, rows: Iterable[dict], actor=None, first_row: int = 2) -> ImportReport:
    """Create or update products by SKU from rows keyed by PRODUCT_COLUMNS; all or nothing.

    ``category`` and ``required_certification`` are keys that must exist."""
    from partnerhub.training.models import Certification

    report = ImportReport()
    categories = dict(ProductCategory.objects.values_list("key", "id"))
    certifications = dict(Certification.objects.values_list("key", "id"))
    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for row, raw in _numbered(rows, first_row):
        report.rows += 1
        if raw.get(ROW_ERROR_KEY):
            report.add_error(row, "", str(raw[ROW_ERROR_KEY]))
            continue
        errors_before = len(report.errors)
        values: dict[str, Any] = {}
        for column, (required, max_length) in PRODUCT_COLUMNS.items():
            try:
                values[column] = _text(raw.get(column), column, max_length)
            except RowInvalid as exc:
                report.add_error(row, column, str(exc))
                values[column] = None
                continue
            if required and not values[column]:
                report.add_error(row, column, "is required")
        try:
            currency = parse_currency(values["currency"]) if values["currency"] else None
        except RowInvalid as exc:
            report.add_error(row, "currency", str(exc))
            currency = None
        if values["list_price"]:
            try:
                if currency:
                    values["list_price_minor"] = parse_amount(
                        values["list_price"], currency, what="list_price", allow_negative=False
                    )
                else:
                    parse_decimal(values["list_price"], what="list_price")
            except RowInvalid as exc:
                report.add_error(row, "list_price", str(exc))
        if values["category"] and values["category"] not in categories:
            report.add_error(row, "category", f"no product category {values['category']!r}")
        cert = values["required_certification"]
        if cert and cert not in certifications:
            report.add_error(row, "required_certification", f"no certification {cert!r}")
        if values["is_active"] is not None:
            try:
                values["is_active"] = (
                    parse_bool(values["is_active"], what="is_active")
                    if values["is_active"]
                    else True
                )
            except RowInvalid as exc:
                report.add_error(row, "is_active", str(exc))
        sku = values["sku"]
        if sku and sku in seen:
            report.add_error(row, "sku", f"SKU {sku!r} appears already in row {seen[sku]}")
        elif sku:
            seen[sku] = row
        if len(report.errors) == errors_before:
            parsed.append((row, values))
    if report.errors:
        report.errors.sort(key=lambda e: e["row"])
        report.refused = True
        return report
    try:
        with transaction.atomic():
            _store_products(parsed, seen, categories, certifications, report)
    except IntegrityError:
        raise Conflict(
            "Another change stored some of these products at the same time; nothing of this "
            "file was stored. Send it again."
        ) from None
    return report


def _store_products(parsed, seen, categories, certifications, report: ImportReport) -> None:
    existing = {p.sku: p for p in Product.objects.select_for_update().filter(sku__in=list(seen))}
    to_create = []
    for _row, v in parsed:
        fields = {
            "name": v["name"],
            "category_id": categories[v["category"]],
            "list_price_minor": v["list_price_minor"],
            "currency": v["currency"],
            "required_certification_id": certifications.get(v["required_certification"]),
            "is_active": v["is_active"],
        }
        product = existing.get(v["sku"])
        if product is None:
            to_create.append(Product(sku=v["sku"], **fields))
        elif any(getattr(product, k) != value for k, value in fields.items()):
            for k, value in fields.items():
                setattr(product, k, value)
            product.save()
            report.updated += 1
        else:
            report.unchanged += 1
    Product.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    report.created = len(to_create)
