import pytest

from partnerhub.deals.tests.factories import create_products, registration_body


@pytest.fixture
def products(db):
    return create_products()


@pytest.fixture
def deal_data(products):
    """A valid registration body (API shape) for a customer; override what a test needs."""
    return registration_body


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
