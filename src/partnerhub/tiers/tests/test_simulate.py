"""Program what-if (``simulate``): tier counts and benefit costs, nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.core.models import Event
from partnerhub.programs.models import Program, ProgramVersion, Tier, Track
from partnerhub.programs.schema import ProgramInvalid
from partnerhub.tiers.models import EvaluationRun, PartnerTier, TierChange
from partnerhub.tiers.services import tiers_evaluate
from partnerhub.tiers.simulate import simulate
from partnerhub.tiers.tests import factories as f

D = dt.date
AS_OF = D(2025, 10, 1)
SOURCE = (f.EXAMPLES / "ev-hardware.yaml").read_text()


def everything() -> tuple:
    return (
        list(PartnerTier.objects.values_list("partner_id", "tier_key", "held_until", "since")),
        TierChange.objects.count(),
        Event.objects.count(),
        EvaluationRun.objects.count(),
        Program.objects.count(),
        ProgramVersion.objects.count(),
        Track.objects.count(),
        Tier.objects.count(),
    )


def rows(report) -> dict:
    return {
        (r["track"], r["tier"]): (r["current"], r["candidate"], r["delta"]) for r in report.tiers
    }


@pytest.fixture
def sales(world, monkeypatch):
    """Trailing 12 months to 2025-10-01 (from 2024-10-02): A bills $100k hardware and $20k
    cloud, B $1k hardware; A has two ev-sales people and five registered projects."""
    deals = f.fake_deals(monkeypatch, "registered_deals")
    a, b = world.partner_a, world.partner_b
    customer = f.customer("2024-01-01")
    f.bill(a, "100000.00", "2025-06-01", customer=customer)
    f.bill(a, "20000.00", "2025-07-01", customer=customer, category="cloud")
    f.bill(a, "5000.00", "2024-10-01", customer=customer)  # 12 months and a day before
    f.bill(a, "999.00", "2025-07-01", customer=customer, currency="EUR")  # not the currency
    f.bill(b, "1000.00", "2025-05-01", customer=customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-04-02")
    deals.add(a.pk, *f.deal_dates("2025-06-01", 5))
    tiers_evaluate(as_of=AS_OF)
    return a, b


def test_same_program_costs_the_same(sales):
    before = everything()
    report = simulate(source=SOURCE, as_of=AS_OF)
    assert everything() == before
    assert (report.program, report.as_of, report.currency, report.current_version) == (
        "ev-hardware",
        AS_OF,
        "USD",
        1,
    )
    # A: 100000 × 10 % + 20000 × 5 %; B: 1000 × 10 %
    assert report.discount_cost == {
        "current": Decimal("11100.00"),
        "candidate": Decimal("11100.00"),
        "delta": Decimal("0.00"),
    }
    # 5 % partner-sourced commission on 121000
    assert report.commission_cost["current"] == Decimal("6050.00")
    assert report.commission_cost["delta"] == Decimal("0.00")
    assert list(rows(report)) == [
        ("var", "authorized"),
        ("var", "silver"),
        ("var", "gold"),
        ("distributor", "authorized"),
        ("distributor", "premier"),
        ("contractor", "listed"),
        ("contractor", "preferred"),
    ]
    assert rows(report)[("var", "authorized")] == (5, 5, 0)


def test_lower_threshold_moves_a_partner_up_and_costs_more(sales):
    a, _ = sales
    assert PartnerTier.objects.get(partner=a).tier_key == "authorized"
    before = everything()
    candidate = SOURCE.replace("min: 250000", "min: 100000")
    report = simulate(source=candidate, as_of=AS_OF)
    assert everything() == before
    assert rows(report)[("var", "authorized")] == (5, 4, -1)
    assert rows(report)[("var", "silver")] == (0, 1, 1)
    assert rows(report)[("var", "gold")] == (0, 0, 0)
    # A at Silver: 100000 × 15 % + 20000 × 8 % = 16600, plus B's 100
    assert report.discount_cost == {
        "current": Decimal("11100.00"),
        "candidate": Decimal("16700.00"),
        "delta": Decimal("5600.00"),
    }
    # A at 8 %: 9600, plus B's 50
    assert report.commission_cost == {
        "current": Decimal("6050.00"),
        "candidate": Decimal("9650.00"),
        "delta": Decimal("3600.00"),
    }
    data = report.as_dict()
    assert data["discount_cost"] == {
        "current": "11100.00",
        "candidate": "16700.00",
        "delta": "5600.00",
    }
    assert data["as_of"] == "2025-10-01"


def test_a_partner_in_two_tracks_gets_the_best_rate(sales, ev_program):
    a, _ = sales
    f.join(a, ev_program, "distributor", "2025-03-01")  # Authorized Distributor: hardware 18 %
    report = simulate(source=SOURCE, as_of=AS_OF)
    # A: 100000 × 18 % + 20000 × 5 % = 19000, B: 100; commission stays 5 % (distributors: none)
    assert report.discount_cost["current"] == Decimal("19100.00")
    assert report.commission_cost["current"] == Decimal("6050.00")
    assert rows(report)[("distributor", "authorized")] == (1, 1, 0)


def test_renamed_tier_keeps_held_partners_by_rank(world, sales):
    a, _ = sales
    tiers_evaluate(as_of=D(2025, 10, 2))
    PartnerTier.objects.filter(partner=a).update(
        tier_key="silver", rank=1, held_until=D(2027, 1, 31), source="computed"
    )
    candidate = SOURCE.replace(
        "key: silver\n        name: Silver", "key: select\n        name: Select"
    )
    report = simulate(source=candidate, as_of=D(2025, 10, 2))
    keys = list(rows(report))
    assert keys[:3] == [("var", "authorized"), ("var", "select"), ("var", "gold")]
    assert keys[-1] == ("var", "silver")  # only in the version in force
    assert rows(report)[("var", "select")] == (0, 1, 1)
    assert rows(report)[("var", "silver")] == (1, 0, -1)
    # the held partner keeps the same benefits under the new key
    assert report.discount_cost["delta"] == Decimal("0.00")


def test_a_new_program_is_not_stored(db):
    source = (f.EXAMPLES / "saas-three-tier.yaml").read_text()
    report = simulate(source=source, as_of=D(2025, 6, 1))
    assert report.current_version is None
    assert report.program == "brightlane"
    assert all(r["current"] == 0 and r["candidate"] == 0 for r in report.tiers)
    assert report.discount_cost == {
        "current": Decimal("0.00"),
        "candidate": Decimal("0.00"),
        "delta": Decimal("0.00"),
    }
    assert not Program.objects.exists()
    assert "candidate vs version none" in report.as_text()


def test_invalid_candidate_is_refused(db):
    with pytest.raises(ProgramInvalid):
        simulate(source=SOURCE.replace("currency: USD", "currency: usd"), as_of=AS_OF)
    assert not ProgramVersion.objects.exists()
