"""Property tests of the ledger (hypothesis): whatever the sequence of sales, credit notes,
customer payments and payouts, the balance is the sum of accruals, reversals, releases and
payouts and equals the commission computed line by line; a referral never carries both the
referral fee and the customer discount."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.incentives import ledger
from partnerhub.incentives.models import LedgerEntry
from partnerhub.incentives.services import (
    accrual_run,
    payout_run,
    referral_customer_discount,
    referral_election_create,
    referral_fees_accrue,
)
from partnerhub.incentives.tests.builders import (
    bill,
    customer,
    hold,
    join,
    load_program,
    partner,
    won,
)

pytestmark = pytest.mark.django_db(transaction=False)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


amounts = st.integers(min_value=1, max_value=10_000_000)  # minor units
operations = st.lists(
    st.one_of(
        st.tuples(st.just("sale"), amounts),
        st.tuples(st.just("credit"), st.integers(0, 50), st.integers(1, 100)),  # which, %
        st.tuples(st.just("payout")),
        st.tuples(st.just("accrue")),
    ),
    min_size=1,
    max_size=12,
)


@SETTINGS
@given(ops=operations)
def test_balance_is_the_sum_of_its_entries_and_matches_the_rates(ev_program, ops):
    from partnerhub.sales.models import BillingLine

    with transaction.atomic():
        p = partner("Property VAR")
        join(p, ev_program, "var")
        hold(p, ev_program, "var", "silver")
        buyer = customer()
        first = bill(p, "1.00", "2025-03-01", customer=buyer)
        won(p, ev_program, first, submitted_on="2025-02-20")
        sales: list[tuple[BillingLine, int]] = [(first, half_up(Decimal(100) * 800 / 10000))]
        expected = sales[0][1]
        credited: dict[int, int] = {}
        for step, op in enumerate(ops, start=1):
            if op[0] == "sale":
                line = bill(p, Decimal(op[1]) / 100, "2025-03-02", customer=buyer)
                accrued = half_up(Decimal(op[1]) * 800 / 10000)
                sales.append((line, accrued))
                expected += accrued
            elif op[0] == "credit":
                line, accrued = sales[op[1] % len(sales)]
                left = line.net_amount_minor - credited.get(line.pk, 0)
                amount = max(1, left * op[2] // 100) if left > 0 else 0
                if amount == 0:
                    continue
                credited[line.pk] = credited.get(line.pk, 0) + amount
                note = bill(p, Decimal(-amount) / 100, "2025-03-03", customer=buyer)
                BillingLine.objects.filter(pk=note.pk).update(credited_line=line)
                expected -= half_up(Decimal(accrued) * amount / line.net_amount_minor)
            elif op[0] == "payout":
                accrual_run(on=dt.date(2025, 3, 31))
                with time_machine.travel(dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC)):
                    payout_run(reference=f"P{step}", as_of=dt.date(2025, 3, 31))
            else:
                accrual_run(on=dt.date(2025, 3, 31))
        accrual_run(on=dt.date(2025, 3, 31))
        entries = LedgerEntry.objects.filter(partner=p, kind="commission")
        by_type = {
            row["entry_type"]: row["s"]
            for row in entries.values("entry_type").annotate(s=Sum("amount_minor"))
        }
        balance = ledger.balances(partner=p, kind="commission").get("USD")
        total = balance.total_minor if balance else 0
        assert total == sum(by_type.values())
        paid = -by_type.get("payout", 0)
        assert by_type.get("accrual", 0) + by_type.get("reversal", 0) == expected
        assert total == expected - paid
        assert not entries.filter(payable=False).exists()  # paid on invoice: nothing held
        transaction.set_rollback(True)


days = st.integers(min_value=0, max_value=60)


@SETTINGS
@given(
    elections=st.lists(st.tuples(days, st.sampled_from(["fee", "discount"])), max_size=4),
    referrals=st.lists(days, min_size=1, max_size=5),
)
def test_a_referral_never_holds_both_fee_and_discount(elections, referrals):
    start = dt.date(2025, 8, 1)
    with transaction.atomic():
        program = load_program("field-service-software.yaml")
        p = partner("Referrer")
        join(p, program, "referral")
        hold(p, program, "referral", "registered", rank=0)
        for offset, choice in sorted(elections):
            when = start + dt.timedelta(days=offset)
            with time_machine.travel(dt.datetime.combine(when, dt.time(8), tzinfo=dt.UTC)):
                referral_election_create(partner=p, choice=choice)
        regs = []
        for offset in referrals:
            line = bill(p, "500.00", "2025-10-15", category="subscriptions", currency="AUD")
            regs.append(
                won(
                    p,
                    program,
                    line,
                    source="referral",
                    submitted_on=start + dt.timedelta(days=offset),
                )
            )
        referral_fees_accrue(on=dt.date(2025, 10, 20))
        fees = set(
            LedgerEntry.objects.filter(kind="referral_fee").values_list("source_id", flat=True)
        )
        for reg in regs:
            discount = referral_customer_discount(registration=reg, on=dt.date(2025, 10, 20))
            assert (reg.pk in fees) != (discount > 0), (reg.submitted_on, elections)
        transaction.set_rollback(True)
