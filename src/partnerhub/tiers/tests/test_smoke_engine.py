import datetime as dt
from decimal import Decimal

from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory
from partnerhub.tiers.models import PartnerTier, TierChange
from partnerhub.tiers.services import tiers_evaluate
from partnerhub.training.models import Certification, Person, PersonCertification


def test_promotion_on_met_day(world, monkeypatch):
    from partnerhub.tiers import metrics

    class Deals(metrics.BaseProvider):
        def values(self, ctx, key):
            return {world.partner_a.pk: Decimal(5)}

        def met_dates(self, ctx, key, threshold, partner_ids):
            return {world.partner_a.pk: dt.date(2025, 6, 1)}

    monkeypatch.setitem(metrics._REGISTRY, "registered_deals", Deals("registered_deals"))
    hw = ProductCategory.objects.create(key="hardware", name="Hardware")
    product = Product.objects.create(
        sku="CP-1", name="Station", category=hw, list_price_minor=100000, currency="USD"
    )
    customer = Customer.objects.create(
        external_id="C1", name="Acme", activated_on=dt.date(2025, 1, 1)
    )
    for i, day in enumerate([dt.date(2025, 3, 1), dt.date(2025, 9, 15)]):
        BillingLine.objects.create(
            external_id=f"L{i}",
            partner=world.partner_a,
            customer=customer,
            product=product,
            quantity=1,
            net_amount_minor=15_000_000,
            currency="USD",
            invoice_date=day,
        )
    cert = Certification.objects.create(key="ev-sales", name="EV Sales")
    for n in range(2):
        person = Person.objects.create(partner=world.partner_a, email=f"p{n}@alpha.test")
        PersonCertification.objects.create(
            person=person,
            partner=world.partner_a,
            certification=cert,
            earned_on=dt.date(2025, 4, 1),
        )
    summary = tiers_evaluate(as_of=dt.date(2025, 10, 1))
    state = PartnerTier.objects.get(partner=world.partner_a, track_key="var")
    assert state.tier_key == "silver"
    assert state.since == dt.date(2025, 9, 15)
    assert state.held_until == dt.date(2027, 1, 31)
    kinds = list(TierChange.objects.filter(partner=world.partner_a).values_list("kind", flat=True))
    assert kinds == ["entry", "promotion"]
    again = tiers_evaluate(as_of=dt.date(2025, 10, 1))
    assert again.changes == []
    assert summary.changes


def test_simulate_reports_without_writing(world):
    from pathlib import Path

    from partnerhub.programs.models import ProgramVersion
    from partnerhub.tiers.simulate import simulate

    source = (
        Path(__file__).resolve().parents[4] / "examples/programs/ev-hardware.yaml"
    ).read_text()
    candidate = source.replace("min: 250000", "min: 100")
    before = ProgramVersion.objects.count()
    report = simulate(source=candidate, as_of=dt.date(2025, 10, 1))
    assert ProgramVersion.objects.count() == before
    assert PartnerTier.objects.count() == 0
    rows = {(r["track"], r["tier"]): r for r in report.tiers}
    assert rows[("var", "authorized")]["current"] == 5
    assert "What-if for ev-hardware" in report.as_text()
