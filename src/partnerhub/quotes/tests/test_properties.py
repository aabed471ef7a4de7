"""Property tests of the line price: whatever the discounts and stacking, the net unit price
stays between 0 and the list price, and the steps add up to list − net exactly."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from partnerhub.quotes.pricing import Discounts, line_total, price_unit

percents = st.decimals(min_value=0, max_value=100, places=2)


@given(
    list_minor=st.integers(min_value=0, max_value=10**12),
    tier=percents,
    deal=percents,
    referral=percents,
    points=percents,
    stacking=st.sampled_from(["add", "compound"]),
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=1_000_000, places=3),
)
def test_net_between_zero_and_list_and_steps_sum_to_the_discount(
    list_minor, tier, deal, referral, points, stacking, quantity
):
    unit = price_unit(
        list_minor,
        Discounts(tier=tier, deal=deal, referral=referral, distributor_points=points),
        stacking=stacking,
    )
    assert 0 <= unit.net_minor <= list_minor
    assert sum(s["amount"] for s in unit.steps) == list_minor - unit.net_minor
    shown = unit.steps_out("EUR")
    assert sum(Decimal(s["amount"]) for s in shown) == (Decimal(list_minor - unit.net_minor) / 100)
    total = line_total(unit.net_minor, quantity)
    assert 0 <= total <= line_total(list_minor, quantity)
