"""Program health: tiers now and over time, the deal pipeline, what waits for review and the
top partners by billings."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerhub.console import selectors


@pytest.fixture
def evaluated(world):
    from partnerhub.tiers.services import tiers_evaluate

    tiers_evaluate(as_of=timezone.localdate())


def test_month_ends():
    assert selectors.month_ends(dt.date(2026, 3, 15), 3) == [
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
    ]
    assert selectors.month_ends(dt.date(2026, 3, 31), 2) == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
    ]


def test_tiers_over_time_replays_history(world, evaluated, ev_program):
    from partnerhub.tiers.models import TierChange

    ends = selectors.month_ends(dt.date(2026, 6, 15), 4)  # Feb, Mar, Apr, May 2026
    TierChange.objects.create(
        partner=world.partner_a,
        program=ev_program,
        track_key="var",
        from_tier_key="authorized",
        to_tier_key="silver",
        kind="promotion",
        effective_on=dt.date(2026, 3, 31),
        reason="met",
    )
    TierChange.objects.create(
        partner=world.partner_b,
        program=ev_program,
        track_key="var",
        from_tier_key="authorized",
        to_tier_key="gold",
        kind="override",
        effective_on=dt.date(2026, 4, 1),
        reason="override",
    )
    TierChange.objects.create(
        partner=world.partner_a,
        program=ev_program,
        track_key="var",
        from_tier_key="silver",
        to_tier_key="gold",
        kind="promotion",
        effective_on=dt.date(2026, 1, 1),  # before the first month end, then superseded
        reason="met",
    )
    tracks = selectors.catalogue(dt.date(2026, 6, 15))
    (history,) = selectors.tiers_over_time(fetched_by=world.program_admin, tracks=tracks, ends=ends)
    assert [k for k, _ in history.tiers] == ["authorized", "silver", "gold"]
    assert history.counts == [
        {"authorized": 4, "silver": 0, "gold": 1},  # Feb: A's gold (January)
        {"authorized": 4, "silver": 1, "gold": 0},  # Mar 31: A silver
        {"authorized": 3, "silver": 1, "gold": 1},  # Apr: B gold
        {"authorized": 3, "silver": 1, "gold": 1},
    ]
    # A partner manager's view counts only their partners (A and the operator).
    (mine,) = selectors.tiers_over_time(fetched_by=world.manager, tracks=tracks, ends=ends)
    assert mine.counts[-1] == {"authorized": 1, "silver": 1, "gold": 0}


def test_home_page(client, world, evaluated, register, ev_program):
    from partnerhub.deals import services
    from partnerhub.sales.models import BillingLine, Customer

    first = register(world.partner_a, name="Acme Logistics GmbH")
    services.registration_approve(registration=first, approved_by=world.manager)
    register(world.partner_b, name="Harbour Fleet Services", estimated_value="1000.50")
    customer = Customer.objects.create(
        external_id="C1", name="Depot Co", country="DE", activated_on=timezone.localdate()
    )
    product = first.products.get().product
    for partner, amount in ((world.partner_b, 500000), (world.partner_a, 120000)):
        BillingLine.objects.create(
            external_id=f"L{partner.pk}",
            partner=partner,
            customer=customer,
            product=product,
            quantity=1,
            net_amount_minor=amount,
            currency="USD",
            invoice_date=timezone.localdate(),
        )
    client.force_login(world.program_admin)
    response = client.get(reverse("console:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Partners per tier now" in body
    assert "Value-added reseller" in body
    assert '<svg class="chart"' in body
    assert "1,000.50 USD" in body  # submitted pipeline
    assert "24,000.00 USD" in body  # approved pipeline
    assert body.index("Beta Energy</a>") < body.index("Alpha Charging</a>")  # top billings
    assert "5,000.00 USD" in body
    assert reverse("console:review-queue") in body


def test_home_is_scoped_for_a_manager(client, world, register):
    register(world.partner_b, name="Harbour Fleet Services")
    client.force_login(world.manager)
    body = client.get(reverse("console:home")).content.decode()
    assert '<span class="stat">0</span>' in body  # B's registration is not the manager's
