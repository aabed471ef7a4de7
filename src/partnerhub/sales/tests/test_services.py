"""Catalogue and customer services: validation, exact prices, conflicts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from partnerhub.core.errors import Conflict
from partnerhub.sales import services
from partnerhub.sales.models import Customer, Product, ProductCategory
from partnerhub.training.models import Certification

pytestmark = pytest.mark.django_db


def messages(exc: ValidationError) -> dict:
    return exc.value.message_dict


def test_category_create_and_conflict(db):
    category = services.product_category_create(key="cloud", name="Cloud plans")
    assert (category.key, category.name) == ("cloud", "Cloud plans")
    with pytest.raises(Conflict) as exc:
        services.product_category_create(key="cloud", name="Again")
    assert exc.value.message == "A product category with key 'cloud' exists."
    with pytest.raises(ValidationError) as exc:
        services.product_category_create(key="no spaces", name="x")
    assert messages(exc) == {
        "key": ["A key of letters, digits, '-' and '_' (at most 64 characters)."]
    }


def test_product_create_stores_minor_units(catalog):
    cert = Certification.objects.create(key="ev-install", name="EV installation")
    product = services.product_create(
        sku="CP-11",
        name="Wallbox 11 kW",
        category="hardware",
        list_price=Decimal("899.90"),
        currency="EUR",
        required_certification="ev-install",
    )
    product.refresh_from_db()
    assert (product.list_price_minor, product.currency, product.category.key) == (
        89990,
        "EUR",
        "hardware",
    )
    assert product.required_certification == cert
    yen = services.product_create(
        sku="CP-JP", name="Wallbox JP", category="hardware", list_price="120000", currency="JPY"
    )
    assert yen.list_price_minor == 120000


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"list_price": "-1"}, "list_price", "List_price must not be negative."),
        (
            {"list_price": "9.999"},
            "list_price",
            "List_price 9.999 has more decimals than EUR allows (2 decimals); amounts are not "
            "rounded on import.",
        ),
        (
            {"list_price": "ten"},
            "list_price",
            "List_price 'ten' is not a decimal number (digits with an optional '.' and "
            "decimals, no thousands separators).",
        ),
        ({"list_price": 9.5}, "list_price", "A decimal amount (as text or Decimal)."),
        (
            {"currency": "Euro"},
            "currency",
            "'Euro' is not a currency code (3 capital letters, e.g. EUR).",
        ),
        ({"category": "nope"}, "category", "No product category with key 'nope'."),
        (
            {"required_certification": "nope"},
            "required_certification",
            "No certification with key 'nope'.",
        ),
        ({"sku": ""}, "sku", "A SKU of 1 to 64 characters."),
        ({"name": "x" * 201}, "name", "A name of 1 to 200 characters."),
    ],
)
def test_product_create_validation(catalog, changes, field, message):
    data = {
        "sku": "NEW-1",
        "name": "New",
        "category": "hardware",
        "list_price": "10.00",
        "currency": "EUR",
    } | changes
    with pytest.raises(ValidationError) as exc:
        services.product_create(**data)
    assert messages(exc) == {field: [message]}
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_product_sku_is_unique(catalog):
    with pytest.raises(Conflict) as exc:
        services.product_create(
            sku="CP-22", name="Dup", category="hardware", list_price="1", currency="EUR"
        )
    assert (exc.value.message, exc.value.field) == ("A product with SKU 'CP-22' exists.", "sku")
    with pytest.raises(Conflict):
        services.product_update(product=catalog["SVC-1Y"], data={"sku": "CP-22"})


def test_product_update(catalog):
    product = catalog["CP-22"]
    updated = services.product_update(
        product=product,
        data={"name": "Wallbox 22 kW (2025)", "list_price": "1349.00", "category": "services"},
    )
    assert (updated.name, updated.list_price_minor, updated.category.key) == (
        "Wallbox 22 kW (2025)",
        134900,
        "services",
    )
    # a new currency keeps the amount when it fits
    yen = services.product_update(product=product, data={"currency": "JPY", "list_price": "180000"})
    assert (yen.currency, yen.list_price_minor) == ("JPY", 180000)
    eur = services.product_update(product=product, data={"currency": "EUR"})
    assert (eur.currency, eur.list_price_minor) == ("EUR", 18000000)
    assert (
        services.product_update(
            product=catalog["SVC-1Y"], data={"currency": "JPY"}
        ).list_price_minor
        == 240
    )  # 240.00 EUR → 240 JPY: exact
    services.product_update(product=catalog["SVC-1Y"], data={"currency": "EUR"})
    services.product_update(product=catalog["SVC-1Y"], data={"list_price": "19.99"})
    with pytest.raises(ValidationError) as exc:
        services.product_update(product=catalog["SVC-1Y"], data={"currency": "JPY"})
    assert messages(exc)["list_price"] == [
        "List_price 19.99 has more decimals than JPY allows (no decimals); amounts are not "
        "rounded on import."
    ]
    with pytest.raises(ValidationError) as exc:
        services.product_update(product=product, data={"name": None})
    assert messages(exc) == {"name": ["This field cannot be null."]}
    cert = Certification.objects.create(key="ev-install", name="EV installation")
    assert (
        services.product_update(
            product=product, data={"required_certification": "ev-install"}
        ).required_certification
        == cert
    )
    assert (
        services.product_update(
            product=product, data={"required_certification": None}
        ).required_certification
        is None
    )


def test_customer_upsert(db):
    customer, created = services.customer_upsert(
        external_id="C-1", name="Acme", activated_on=dt.date(2025, 1, 1), country="DE"
    )
    assert created and (customer.name, customer.country) == ("Acme", "DE")
    customer, created = services.customer_upsert(external_id="C-1", name="Acme Corp")
    assert not created
    customer.refresh_from_db()
    assert (customer.name, customer.activated_on, customer.country) == (
        "Acme Corp",
        dt.date(2025, 1, 1),
        "DE",
    )
    with pytest.raises(ValidationError) as exc:
        services.customer_upsert(external_id="C-2", name="New")
    assert messages(exc) == {"activated_on": ["A new customer needs its activation date."]}
    assert Customer.objects.count() == 1


def test_products_import_creates_updates_and_refuses(catalog):
    Certification.objects.create(key="ev-install", name="EV installation")
    rows = [
        {
            "sku": "CP-22",
            "name": "Wallbox 22 kW",
            "category": "hardware",
            "list_price": "1299.00",
            "currency": "EUR",
        },
        {
            "sku": "SVC-1Y",
            "name": "Service plan, 1 year",
            "category": "services",
            "list_price": "250",
            "currency": "EUR",
            "required_certification": "ev-install",
        },
        {
            "sku": "CP-50",
            "name": "DC charger",
            "category": "hardware",
            "list_price": "15000",
            "currency": "EUR",
            "is_active": "false",
        },
    ]
    report = services.products_import(rows=rows)
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 1, 1, [])
    assert Product.objects.get(sku="SVC-1Y").list_price_minor == 25000
    assert Product.objects.get(sku="CP-50").is_active is False
    bad = [
        rows[0] | {"list_price": "1.001"},
        rows[2] | {"category": "nope", "currency": "eur"},
        rows[0],
    ]
    report = services.products_import(rows=bad)
    assert report.refused
    assert [(e["row"], e["column"], e["message"]) for e in report.errors] == [
        (
            2,
            "list_price",
            "list_price 1.001 has more decimals than EUR allows (2 decimals); amounts are not "
            "rounded on import",
        ),
        (3, "currency", "'eur' is not a currency code (3 capital letters, e.g. EUR)"),
        (3, "category", "no product category 'nope'"),
        (4, "sku", "SKU 'CP-22' appears already in row 2"),
    ]
    assert Product.objects.get(sku="CP-22").list_price_minor == 129900
    assert ProductCategory.objects.count() == 2
