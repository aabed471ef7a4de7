"""The deal metrics the tier engine reads (registered, approved, closed-won, pipeline)."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.deals import services
from partnerhub.tiers.metrics import MetricContext, MetricKey, provider

pytestmark = pytest.mark.django_db


def _ctx(as_of):
    return MetricContext(as_of=as_of, currency="USD", fy_month=2, fy_day=1)


def _submit(register, partner, name, when):
    reg = register(partner, submit=False, name=name, customer_website="", contact_email="")
    services.registration_submit(registration=reg, submitted_by=None, at=when)
    reg.refresh_from_db()
    return reg


def test_registered_and_approved_deals_count_in_the_fiscal_year(world, register):
    when = dt.datetime.now(dt.UTC)
    a1 = _submit(register, world.partner_a, "Customer One", when)
    _submit(register, world.partner_a, "Customer Two", when)
    _submit(register, world.partner_b, "Customer Three", when)
    services.registration_approve(registration=a1, approved_by=world.manager)
    ctx = _ctx(when.date())
    key = MetricKey("registered_deals", "fiscal_year_to_date")
    values = provider("registered_deals").values(ctx, key)
    assert values[world.partner_a.pk] == 2 and values[world.partner_b.pk] == 1
    approved = provider("approved_deals").values(
        ctx, MetricKey("approved_deals", "fiscal_year_to_date")
    )
    assert approved == {world.partner_a.pk: 1}
    met = provider("registered_deals").met_dates(ctx, key, Decimal(2), [world.partner_a.pk])
    assert met == {world.partner_a.pk: when.date()}


def test_pipeline_is_the_value_of_protected_approved_deals(world, register):
    reg = register(world.partner_a)
    services.registration_approve(registration=reg, approved_by=world.manager)
    values = provider("pipeline_value").values(_ctx(dt.date.today()), MetricKey("pipeline_value"))
    assert values[world.partner_a.pk] == Decimal("24000.00")


def test_drafts_do_not_count(world, register):
    register(world.partner_a, submit=False)
    values = provider("registered_deals").values(
        _ctx(dt.date.today()), MetricKey("registered_deals", "fiscal_year_to_date")
    )
    assert values == {}


def test_deal_providers_are_real(world):
    for name in ("registered_deals", "approved_deals", "closed_won_deals", "pipeline_value"):
        assert provider(name).available


def test_rejected_registrations_do_not_count(world, register):
    """A rejected duplicate (or unqualified) registration must not lift a partner towards a
    tier that asks for N registered projects; its lost or expired ones still count."""
    when = dt.datetime.now(dt.UTC)
    kept = _submit(register, world.partner_a, "Customer One", when)
    refused = _submit(register, world.partner_a, "Customer Two", when)
    services.registration_reject(registration=refused, rejected_by=world.manager, reason="Dup")
    key = MetricKey("registered_deals", "fiscal_year_to_date")
    values = provider("registered_deals").values(_ctx(when.date()), key)
    assert values == {world.partner_a.pk: 1}
    met = provider("registered_deals").met_dates(
        _ctx(when.date()), key, Decimal(2), [world.partner_a.pk]
    )
    assert met.get(world.partner_a.pk) is None
    assert kept.status == "submitted"
