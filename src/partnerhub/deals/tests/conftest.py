import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def products(db):
    from partnerhub.sales.models import Product, ProductCategory

    hardware = ProductCategory.objects.create(key="hardware", name="Hardware")
    cloud = ProductCategory.objects.create(key="cloud", name="Cloud")
    return {
        "wallbox": Product.objects.create(
            sku="WB-22",
            name="Wallbox 22 kW",
            category=hardware,
            list_price_minor=120000,
            currency="USD",
        ),
        "dc": Product.objects.create(
            sku="DC-150",
            name="DC fast charger 150 kW",
            category=hardware,
            list_price_minor=4500000,
            currency="USD",
        ),
        "cloud": Product.objects.create(
            sku="CL-PRO", name="Cloud Pro", category=cloud, list_price_minor=30000, currency="USD"
        ),
    }


@pytest.fixture
def deal_data(products):
    """A valid registration body (API shape) for a customer; override what a test needs."""

    def make(name="Acme Logistics GmbH", **overrides):
        body = {
            "customer_name": name,
            "customer_website": "https://www.acme-logistics.de",
            "customer_country": "DE",
            "customer_address": "Hafenstraße 1, Hamburg",
            "contact_name": "Jana Fleet",
            "contact_email": "jana@acme-logistics.de",
            "products": [{"sku": "WB-22", "quantity": 20}],
            "estimated_value": "24000.00",
            "currency": "USD",
            "expected_close_date": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
            "source": "partner_sourced",
            "notes": "Depot with 20 bays",
        }
        body.update(overrides)
        return body

    return make


@pytest.fixture
def register(deal_data, world):
    """Create (and by default submit) a registration through the service layer."""
    from partnerhub.deals import services

    def make(partner=None, *, submit=True, user=None, **overrides):
        partner = partner or world.partner_a
        return services.registration_create(
            partner=partner, data=deal_data(**overrides), created_by=user, submit=submit
        )

    return make
