import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def products(db):
    from partnerhub.sales.models import Product, ProductCategory

    hardware = ProductCategory.objects.create(key="hardware", name="Hardware")
    return {
        "wallbox": Product.objects.create(
            sku="WB-22",
            name="Wallbox 22 kW",
            category=hardware,
            list_price_minor=120000,
            currency="USD",
        ),
    }


@pytest.fixture
def deal_data(products):
    def make(name="Acme Logistics GmbH", **overrides):
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:30]
        body = {
            "customer_name": name,
            "customer_website": f"https://www.{slug}.de",
            "customer_country": "DE",
            "contact_name": "Jana Fleet",
            "contact_email": f"jana@{slug}.de",
            "products": [{"sku": "WB-22", "quantity": 20}],
            "estimated_value": "24000.00",
            "currency": "USD",
            "expected_close_date": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
            "source": "partner_sourced",
        }
        body.update(overrides)
        return body

    return make


@pytest.fixture
def register(deal_data, world):
    """Create and submit a registration through the service layer."""
    from partnerhub.deals import services

    def make(partner=None, name="Acme Logistics GmbH", **overrides):
        return services.registration_create(
            partner=partner or world.partner_a,
            data=deal_data(name, **overrides),
            created_by=None,
            submit=True,
        )

    return make
