import pytest

from partnerhub.deals.tests.factories import create_products, registration_body


@pytest.fixture
def products(db):
    return create_products("wallbox")


@pytest.fixture
def deal_data(products):
    def make(name="Acme Logistics GmbH", **overrides):
        return registration_body(name, own_domain=True, **overrides)

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
