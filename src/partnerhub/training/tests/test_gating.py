"""Products that require a certification: refused to partners without a certified person."""

from __future__ import annotations

import pytest

from partnerhub.core.errors import NotAllowed
from partnerhub.sales.models import Product
from partnerhub.training import services
from partnerhub.training.gating import missing_certification, require_certified

from .helpers import D, certify

MESSAGE = (
    "Alpha Charging has no person holding a current 'EV Installer' certification, "
    "required for CP-6000 (DC fast charger)."
)


def test_gated_product_refused_to_an_uncertified_partner(world, gated_product):
    assert missing_certification(partner=world.partner_a, product=gated_product, on=D(2025, 5, 1))
    with pytest.raises(NotAllowed) as exc:
        require_certified(partner=world.partner_a, products=[gated_product], on=D(2025, 5, 1))
    error = exc.value
    assert error.status_code == 403
    assert error.as_details() == [
        {"loc": ["body", "product"], "msg": MESSAGE, "type": "certification_required"}
    ]


def test_allowed_once_certified_and_refused_again_after_expiry(
    world, catalogue, gated_product, person_a
):
    certify(person_a, catalogue.installer, D(2025, 1, 10), D(2027, 1, 10))
    for day in (D(2025, 1, 10), D(2027, 1, 9)):
        assert missing_certification(partner=world.partner_a, product=gated_product, on=day) is None
        require_certified(partner=world.partner_a, products=[gated_product], on=day)
    assert (
        missing_certification(partner=world.partner_a, product=gated_product, on=D(2027, 1, 10))
        == catalogue.installer
    )
    with pytest.raises(NotAllowed, match="no person holding a current 'EV Installer'"):
        require_certified(partner=world.partner_a, products=[gated_product], on=D(2027, 1, 10))
    # Not yet earned the day before.
    assert missing_certification(partner=world.partner_a, product=gated_product, on=D(2025, 1, 9))


def test_earned_through_completions_then_revoked(world, catalogue, gated_product, person_a):
    services.course_completion_record(
        person=person_a, course=catalogue.basics, completed_on=D(2025, 2, 1)
    )
    services.course_completion_record(
        person=person_a, course=catalogue.install, completed_on=D(2025, 2, 2)
    )
    require_certified(partner=world.partner_a, products=[gated_product], on=D(2025, 3, 1))
    pc = person_a.certifications.get(certification=catalogue.installer)
    services.certification_revoke(person_certification=pc, reason="Fraud", on=D(2025, 4, 1))
    require_certified(partner=world.partner_a, products=[gated_product], on=D(2025, 3, 31))
    with pytest.raises(NotAllowed):
        require_certified(partner=world.partner_a, products=[gated_product], on=D(2025, 4, 1))


def test_another_partners_certified_person_does_not_count(world, catalogue, gated_product):
    beta, _ = services.person_upsert(partner=world.partner_b, email="bo@beta.test")
    certify(beta, catalogue.installer, D(2025, 1, 1))
    require_certified(partner=world.partner_b, products=[gated_product], on=D(2025, 6, 1))
    with pytest.raises(NotAllowed, match="^Alpha Charging has no person"):
        require_certified(partner=world.partner_a, products=[gated_product], on=D(2025, 6, 1))


def test_products_without_requirement_pass_without_a_query(
    world, gated_product, django_assert_num_queries
):
    free = Product.objects.create(
        sku="AC-11",
        name="Wallbox",
        category=gated_product.category,
        list_price_minor=1,
        currency="EUR",
    )
    with django_assert_num_queries(0):
        require_certified(partner=world.partner_a, products=[free, free], on=D(2025, 1, 1))
        assert (
            missing_certification(partner=world.partner_a, product=free, on=D(2025, 1, 1)) is None
        )


def test_several_products_are_checked_in_one_query(
    world, catalogue, gated_product, person_a, django_assert_num_queries
):
    category = gated_product.category
    Product.objects.create(
        sku="CP-9000",
        name="Depot charger",
        category=category,
        list_price_minor=1,
        currency="EUR",
        required_certification=catalogue.installer,
    )
    Product.objects.create(
        sku="SVC-1",
        name="Expert service",
        category=category,
        list_price_minor=1,
        currency="EUR",
        required_certification=catalogue.expert,
    )
    Product.objects.create(
        sku="AC-11", name="Wallbox", category=category, list_price_minor=1, currency="EUR"
    )
    products = list(Product.objects.select_related("required_certification").order_by("sku"))
    with django_assert_num_queries(1), pytest.raises(NotAllowed) as exc:
        require_certified(partner=world.partner_a, products=products, on=D(2025, 6, 1))
    assert exc.value.field == "products"
    assert exc.value.message == (
        "Alpha Charging has no person holding a current 'EV Installer' certification, "
        "required for CP-6000 (DC fast charger) and CP-9000 (Depot charger). "
        "Alpha Charging has no person holding a current 'EV Expert' certification, "
        "required for SVC-1 (Expert service)."
    )
    certify(person_a, catalogue.installer, D(2025, 1, 1))
    with django_assert_num_queries(1), pytest.raises(NotAllowed) as exc:
        require_certified(partner=world.partner_a, products=products, on=D(2025, 6, 1))
    assert exc.value.message == (
        "Alpha Charging has no person holding a current 'EV Expert' certification, "
        "required for SVC-1 (Expert service)."
    )
    certify(person_a, catalogue.expert, D(2025, 1, 1), D(2026, 1, 1))
    with django_assert_num_queries(1):
        require_certified(partner=world.partner_a, products=products, on=D(2025, 6, 1))
