"""Quotes fixtures: a Gold VAR (partner A) in the ev-hardware program, a distributor, and a
catalogue priced in round figures (a 1,000.00 USD wallbox, a 2,000.00 USD NFR station...)."""

import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def catalogue(db):
    from partnerhub.sales.models import Product, ProductCategory

    cats = {
        key: ProductCategory.objects.create(key=key, name=key.title())
        for key in ("hardware", "cloud", "services", "nfr")
    }

    def product(sku, cat, price, currency="USD", name=None):
        return Product.objects.create(
            sku=sku,
            name=name or sku,
            category=cats[cat],
            list_price_minor=price,
            currency=currency,
        )

    return {
        "wallbox": product("WB-1000", "hardware", 1000_00, name="Wallbox 22 kW"),
        "cable": product("CABLE-9", "hardware", 9_99, name="Charging cable"),
        "plug": product("PLUG-1", "hardware", 1_00, name="Plug adapter"),
        "cloud": product("CL-PRO", "cloud", 300_00, name="Cloud Pro"),
        "support": product("SUP-1", "services", 500_00, name="Support plan"),
        "station": product("NFR-ST", "nfr", 2000_00, name="Demo station"),
        "euro": product("WB-EU", "hardware", 900_00, currency="EUR"),
    }


@pytest.fixture
def gold(world, ev_program):
    """Partner A holds Gold in the VAR track since 2025-02-01 (hardware −20%, deal −7.5%)."""
    from partnerhub.tiers.models import PartnerTier

    return PartnerTier.objects.create(
        partner=world.partner_a,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        rank=2,
        since=dt.date(2025, 2, 1),
        held_until=dt.date(2027, 1, 31),
        source="computed",
        last_evaluated_on=dt.date(2025, 2, 1),
    )


@pytest.fixture
def distributor(world, ev_program):
    from partnerhub.partners.models import Partner, TrackMembership

    d = Partner.objects.create(
        legal_name="Delta Distribution GmbH", display_name="Delta Distribution", country="DE"
    )
    TrackMembership.objects.create(
        partner=d, program=ev_program, track_key="distributor", joined_on="2025-03-01"
    )
    return d


@pytest.fixture
def credit(world):
    """Partner A's DUNS and a 10,000.00 USD credit line."""
    from partnerhub.quotes import services

    world.partner_a.duns = "123456789"
    world.partner_a.save()

    def make(limit="10000.00", currency="USD", **extra):
        return services.credit_line_set(
            partner=world.partner_a,
            data={"limit": limit, "currency": currency, **extra},
            approved_by=world.finance,
        )

    return make


@pytest.fixture
def approved_registration(world, catalogue, gold):
    """An approved (protected) registration of partner A listing the wallbox."""
    from partnerhub.deals import services as deals

    made = []

    def make(source="partner_sourced", products=("WB-1000",), partner=None):
        made.append(1)
        reg = deals.registration_create(
            partner=partner or world.partner_a,
            data={
                "program": "ev-hardware",
                "customer_name": f"Customer number {len(made)} Logistics",
                "customer_country": "DE",
                "products": [{"sku": sku, "quantity": 10} for sku in products],
                "estimated_value": "10000",
                "currency": "USD",
                "expected_close_date": timezone.localdate() + dt.timedelta(days=60),
                "source": source,
            },
            created_by=None,
            submit=True,
        )
        return deals.registration_approve(registration=reg, approved_by=None)

    return make
