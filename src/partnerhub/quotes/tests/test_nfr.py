"""NFR purchases under ev-hardware's policy: category ``nfr``, at most 2 units per partner,
a bundle of services and cloud required, 40% off, renewals 50% off, only for tiers with the
``nfr_purchases`` flag (Silver, Gold)."""

import pytest

from partnerhub.core.errors import ServiceError
from partnerhub.quotes import services

pytestmark = pytest.mark.django_db

BUNDLE = ["SUP-1", "CL-PRO"]


def order(partner, **data):
    data.setdefault("sku", "NFR-ST")
    return services.nfr_order(partner=partner, data=data)


def test_new_station_at_40_percent_with_its_bundle(world, catalogue, gold):
    p = order(world.partner_a, bundle=BUNDLE)
    # 2,000.00 × (1 − 40%) = 1,200.00.
    assert (p.price_minor, p.currency, p.quantity, p.is_renewal) == (1200_00, "USD", 1, False)
    assert p.bundle_product_ids == [catalogue["support"].pk, catalogue["cloud"].pk]


def test_third_station_refused_with_max_two(world, catalogue, gold):
    order(world.partner_a, quantity=2, bundle=BUNDLE)
    with pytest.raises(ServiceError) as e:
        order(world.partner_a, bundle=BUNDLE)
    assert e.value.field == "quantity"
    assert e.value.message == (
        "At most 2 NFR units per partner: Alpha Charging already holds 2, so it cannot order "
        "1 more."
    )


def test_missing_bundle_refused(world, catalogue, gold):
    with pytest.raises(ServiceError) as e:
        order(world.partner_a, bundle=["SUP-1"])
    assert e.value.field == "bundle"
    assert e.value.message == (
        "A new NFR order must include at least one product of each of the categories "
        "services, cloud; missing: cloud."
    )


def test_renewal_at_50_percent_does_not_count_toward_the_limit(world, catalogue, gold):
    first = order(world.partner_a, quantity=2, bundle=BUNDLE)
    renewal = order(world.partner_a, quantity=2, is_renewal=True, renews_id=first.pk)
    # 2 × 2,000.00 × (1 − 50%) = 2,000.00; no bundle needed for a renewal.
    assert (renewal.price_minor, renewal.renews, renewal.is_renewal) == (2000_00, first, True)
    assert services.nfr_units_held(partner=world.partner_a, program=first.program) == 2


def test_renewal_must_refer_to_an_earlier_purchase_of_the_partner(world, catalogue, gold):
    with pytest.raises(ServiceError) as e:
        order(world.partner_a, is_renewal=True)
    assert e.value.field == "renews_id"


def test_tier_without_the_flag_is_refused(world, catalogue):
    """Partner A at its entry tier (Authorized) lacks ``nfr_purchases``."""
    with pytest.raises(ServiceError) as e:
        order(world.partner_a, bundle=BUNDLE)
    assert e.value.field == "partner_id"
    assert e.value.message == (
        "NFR purchases need a tier with 'nfr_purchases'; Alpha Charging holds Authorized."
    )


def test_only_nfr_products(world, catalogue, gold):
    with pytest.raises(ServiceError) as e:
        order(world.partner_a, sku="WB-1000", bundle=BUNDLE)
    assert e.value.field == "product_id"
    assert "category 'nfr'" in e.value.message
