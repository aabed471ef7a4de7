"""Sales fixtures: a small catalogue on top of the shared ``world``, and row builders."""

from __future__ import annotations

import pytest

from partnerhub.partners.models import Partner
from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory

HEADER = (
    "external_id,partner_id,customer_id,customer_name,sku,quantity,net_amount,currency,"
    "invoice_date,purchase_path,distributor_id,is_renewal"
)


@pytest.fixture
def catalog(db):
    hardware = ProductCategory.objects.create(key="hardware", name="Hardware")
    services = ProductCategory.objects.create(key="services", name="Services")
    return {
        "hardware": hardware,
        "services": services,
        "CP-22": Product.objects.create(
            sku="CP-22",
            name="Wallbox 22 kW",
            category=hardware,
            list_price_minor=129900,
            currency="EUR",
        ),
        "SVC-1Y": Product.objects.create(
            sku="SVC-1Y",
            name="Service plan, 1 year",
            category=services,
            list_price_minor=24000,
            currency="EUR",
        ),
    }


@pytest.fixture
def sales_world(world, catalog):
    """``world`` plus DUNS numbers for A and B, and a suspended partner."""
    world.partner_a.duns = "123456789"
    world.partner_a.save(update_fields=["duns"])
    world.partner_b.duns = "987654321"
    world.partner_b.save(update_fields=["duns"])
    world.suspended = Partner.objects.create(
        legal_name="Sleepy GmbH", display_name="Sleepy", country="DE", status="suspended"
    )
    world.catalog = catalog
    return world


def make_row(world, **overrides) -> dict:
    """A good direct line of partner A: 2 wallboxes to Acme Parking for 2598.00 EUR."""
    row = {
        "external_id": "INV-1001-1",
        "partner_id": str(world.partner_a.pk),
        "customer_id": "C-100",
        "customer_name": "Acme Parking",
        "sku": "CP-22",
        "quantity": "2",
        "net_amount": "2598.00",
        "currency": "EUR",
        "invoice_date": "2025-03-15",
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not None}


def counts() -> tuple[int, int]:
    return BillingLine.objects.count(), Customer.objects.count()
