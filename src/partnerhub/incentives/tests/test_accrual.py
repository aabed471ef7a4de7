"""Worked examples of the accrual run, each with its figures written out.

Program ev-hardware (examples/programs): VAR Silver earns 8 % on partner-sourced and 3 % on
partner-influenced sales, Gold VAR 10 % on sourced hardware with 12 % above $500k of the
fiscal year (rule with a band), Silver accrues 1 % MDF, Gold 2 %. Unregistered sales earn no
commission (policy ``unregistered: none``).
"""

from __future__ import annotations

import pytest

from partnerhub.incentives import ledger
from partnerhub.incentives.models import CustomerPayment, LedgerEntry
from partnerhub.incentives.services import accrual_run, payout_run
from partnerhub.incentives.tests.builders import bill, customer, hold, join, partner, won

pytestmark = pytest.mark.django_db


def entries(p, kind=None):
    qs = LedgerEntry.objects.filter(partner=p).order_by("id")
    if kind:
        qs = qs.filter(kind=kind)
    return [(e.entry_type, e.amount_minor, e.payable) for e in qs]


@pytest.fixture
def silver(ev_program):
    p = partner("Silver VAR")
    join(p, ev_program, "var")
    hold(p, ev_program, "var", "silver")
    return p


def test_sourced_influenced_and_unregistered_sales(ev_program, silver):
    c1, c2 = customer(), customer()
    first = bill(silver, "1000.00", "2025-03-10", customer=c1)
    won(silver, ev_program, first, source="partner_sourced")
    second = bill(silver, "333.33", "2025-04-10", customer=c2)
    won(silver, ev_program, second, source="partner_influenced")
    bill(silver, "500.00", "2025-04-11")  # no registration: no commission
    accrual_run()
    # 8 % of 1,000.00 = 80.00; 3 % of 333.33 = 9.9999 -> 10.00 (half-up per line)
    assert entries(silver, "commission") == [("accrual", 8000, True), ("accrual", 1000, True)]
    # MDF 1 % of the month's sales per month: March 10.00; April 3.3333 + 5.00 -> 3.33 + 5.00
    assert entries(silver, "mdf") == [("accrual", 1000, False), ("accrual", 833, False)]
    assert ledger.balances(partner=silver)["USD"].payable_minor == 9000


def test_a_second_run_accrues_nothing_again(ev_program, silver):
    line = bill(silver, "1000.00", "2025-03-10")
    won(silver, ev_program, line)
    first = accrual_run()
    again = accrual_run()
    assert first.entries == 2 and again.entries == 0
    assert LedgerEntry.objects.filter(kind="commission").count() == 1


def test_credit_note_reverses_pro_rata(ev_program, silver):
    from partnerhub.sales.models import BillingLine

    line = bill(silver, "1000.00", "2025-03-10")
    won(silver, ev_program, line)
    accrual_run()
    credit = bill(silver, "-250.00", "2025-03-20", customer=line.customer)
    BillingLine.objects.filter(pk=credit.pk).update(credited_line=line)
    accrual_run()
    # 80.00 accrued; a quarter credited -> -20.00 reversed; MDF -2.50 on the credit
    assert entries(silver, "commission") == [("accrual", 8000, True), ("reversal", -2000, True)]
    assert ledger.balances(partner=silver, kind="commission")["USD"].total_minor == 6000


def test_gold_band_above_500k_pays_12_percent_on_the_part_above(ev_program):
    gold = partner("Gold VAR")
    join(gold, ev_program, "var")
    hold(gold, ev_program, "var", "gold", rank=2)
    c = customer()
    first = bill(gold, "400000.00", "2025-03-01", customer=c)
    won(gold, ev_program, first)
    bill(gold, "200000.00", "2025-04-01", customer=c)
    accrual_run()
    # 10 % of 400,000 = 40,000.00; then 100k below the band at 10 % and 100k above at 12 %:
    # 10,000.00 + 12,000.00 = 22,000.00
    assert entries(gold, "commission") == [
        ("accrual", 4_000_000, True),
        ("accrual", 2_200_000, True),
    ]


def test_band_counts_revenue_of_earlier_runs(ev_program):
    gold = partner("Gold VAR")
    join(gold, ev_program, "var")
    hold(gold, ev_program, "var", "gold", rank=2)
    c = customer()
    won(gold, ev_program, bill(gold, "450000.00", "2025-03-01", customer=c))
    accrual_run()
    bill(gold, "100000.00", "2025-05-01", customer=c)
    accrual_run()
    # 50k below 500k at 10 % (5,000.00) + 50k above at 12 % (6,000.00) = 11,000.00
    assert entries(gold, "commission")[-1] == ("accrual", 1_100_000, True)


def test_commission_payable_on_payment_is_released_pro_rata():
    from partnerhub.tiers.tests.factories import load_program

    saas = load_program("saas-three-tier.yaml")
    p = partner("Brightlane Reseller")
    join(p, saas, "solution")
    hold(p, saas, "solution", "registered", rank=0)
    from partnerhub.tiers.tests.factories import bill as bill_cat

    line = bill_cat(p, "1000.00", "2025-03-10", category="subscription")
    won(p, saas, line)
    accrual_run()
    # 12.5 % of 1,000.00 = 125.00, held until the customer pays
    assert entries(p, "commission") == [("accrual", 12500, False)]
    CustomerPayment.objects.create(
        external_id="PAY-1",
        billing_line=line,
        amount_minor=40000,
        currency="USD",
        paid_on="2025-04-01",
    )
    accrual_run()
    # 400 of 1,000 paid -> 40 % of 125.00 = 50.00 released
    balance = ledger.balances(partner=p, kind="commission")["USD"]
    assert (balance.total_minor, balance.payable_minor, balance.held_minor) == (12500, 5000, 7500)
    CustomerPayment.objects.create(
        external_id="PAY-2",
        billing_line=line,
        amount_minor=60000,
        currency="USD",
        paid_on="2025-05-01",
    )
    accrual_run()
    balance = ledger.balances(partner=p, kind="commission")["USD"]
    assert (balance.payable_minor, balance.held_minor) == (12500, 0)


def test_payout_run_pays_payable_balances_once(ev_program, silver):
    import datetime as dt

    line = bill(silver, "1000.00", "2025-03-10")
    won(silver, ev_program, line)
    accrual_run()
    run, created = payout_run(reference="2025-03", as_of=dt.date(2025, 3, 31))
    assert created and run.partners == 1 and run.total_minor == 8000
    again, created = payout_run(reference="2025-03", as_of=dt.date(2025, 3, 31))
    assert not created and again.pk == run.pk
    balance = ledger.balances(partner=silver)["USD"]
    # the 10.00 MDF stays in the partner's fund (held), commission paid
    assert (balance.payable_minor, balance.held_minor) == (0, 1000)
