"""Deal-registration test data shared by the deals, console, portal and browser tests: the
catalogue products a registration names and a valid registration body (API shape)."""

from __future__ import annotations

import datetime as dt

CATALOGUE = {
    "wallbox": ("hardware", "WB-22", "Wallbox 22 kW", 120000),
    "dc": ("hardware", "DC-150", "DC fast charger 150 kW", 4500000),
    "cloud": ("cloud", "CL-PRO", "Cloud Pro", 30000),
}


def create_products(*keys: str) -> dict:
    """Create the named catalogue products (default: all) in USD, with their categories."""
    from partnerhub.sales.models import Product, ProductCategory

    categories: dict = {}
    products = {}
    for key in keys or tuple(CATALOGUE):
        category, sku, name, price = CATALOGUE[key]
        if category not in categories:
            categories[category] = ProductCategory.objects.create(
                key=category, name=category.title()
            )
        products[key] = Product.objects.create(
            sku=sku,
            name=name,
            category=categories[category],
            list_price_minor=price,
            currency="USD",
        )
    return products


def registration_body(
    name: str = "Acme Logistics GmbH", *, own_domain: bool = False, **overrides
) -> dict:
    """A valid registration of 20 wallboxes for the customer ``name``; ``own_domain`` gives
    the customer a website and contact e-mail of its own name (so that two customers do not
    match on their domain). ``overrides`` replace fields."""
    from django.utils import timezone

    domain = "acme-logistics.de"
    if own_domain:
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:30] + ".de"
    body = {
        "customer_name": name,
        "customer_website": f"https://www.{domain}",
        "customer_country": "DE",
        "customer_address": "Hafenstraße 1, Hamburg",
        "contact_name": "Jana Fleet",
        "contact_email": f"jana@{domain}",
        "products": [{"sku": "WB-22", "quantity": 20}],
        "estimated_value": "24000.00",
        "currency": "USD",
        "expected_close_date": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
        "source": "partner_sourced",
        "notes": "Depot with 20 bays",
    }
    body.update(overrides)
    return body


def register(partner, *, submit: bool = True, user=None, **body):
    """Create (and by default submit) a registration through the service layer; ``body`` as
    for ``registration_body``."""
    from partnerhub.deals import services

    return services.registration_create(
        partner=partner, data=registration_body(**body), created_by=user, submit=submit
    )
