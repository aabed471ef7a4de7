"""Property: whatever sequence of allocations, requests, approvals, claims, closings and
expiries happens, the MDF fund (held balance) never goes negative, never falls below what is
committed, and the ledger sums match the documents behind them."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.core.errors import ServiceError
from partnerhub.incentives import ledger
from partnerhub.incentives.models import LedgerEntry
from partnerhub.mdf import services
from partnerhub.mdf.models import MdfAllocation, MdfClaim, MdfRequest
from partnerhub.mdf.tests.conftest import proof
from partnerhub.programs.models import ProgramVersion

cents = st.integers(min_value=1, max_value=2_000_000)
op = st.one_of(
    st.tuples(st.just("allocate"), cents),
    st.tuples(st.just("request"), cents),
    st.tuples(st.just("approve"), st.integers(0, 9), st.integers(1, 100)),
    st.tuples(st.just("reject"), st.integers(0, 9)),
    st.tuples(st.just("close"), st.integers(0, 9)),
    st.tuples(st.just("claim"), st.integers(0, 9), st.integers(0, 4_000_000)),
    st.tuples(st.just("approve_claim"), st.integers(0, 9)),
    st.tuples(st.just("reject_claim"), st.integers(0, 9)),
    st.tuples(st.just("advance"), st.integers(1, 120)),
    st.tuples(
        st.just("expire"),
    ),
)


def _sum(qs, field="amount_minor") -> int:
    return int(qs.aggregate(s=Sum(field))["s"] or 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_fund_never_negative_and_ledger_matches(world, ops):
    partner = world.partner_a
    version = ProgramVersion.objects.get(program__key="ev-hardware")
    with transaction.atomic():
        day = dt.date(2025, 2, 3)
        for item in ops:
            kind, *args = item
            requests = list(MdfRequest.objects.order_by("id"))
            claims = list(MdfClaim.objects.order_by("id"))
            try:
                if kind == "allocate":
                    services.allocation_create(
                        partner=partner,
                        program=None,
                        quarter_start=services.quarter_bounds(day, version)[0],
                        amount=f"{args[0] / 100:.2f}",
                        reason="Property",
                    )
                elif kind == "request":
                    services.request_create(
                        partner=partner,
                        data={
                            "title": "Activity",
                            "activity_type": "event",
                            "starts_on": day,
                            "ends_on": day,
                            "budget": f"{args[0] / 100:.2f}",
                        },
                    )
                elif kind == "approve" and requests:
                    req = requests[args[0] % len(requests)]
                    amount = max(1, req.requested_minor * args[1] // 100)
                    services.request_approve(request=req, amount=f"{amount / 100:.2f}")
                elif kind == "reject" and requests:
                    services.request_reject(request=requests[args[0] % len(requests)], reason="P")
                elif kind == "close" and requests:
                    services.request_close(request=requests[args[0] % len(requests)])
                elif kind == "claim" and requests:
                    services.claim_submit(
                        request=requests[args[0] % len(requests)],
                        actual_cost=f"{args[1] / 100:.2f}",
                        files=[proof()],
                        on=day,
                    )
                elif kind == "approve_claim" and claims:
                    services.claim_approve(claim=claims[args[0] % len(claims)], on=day)
                elif kind == "reject_claim" and claims:
                    services.claim_reject(claim=claims[args[0] % len(claims)], reason="P")
                elif kind == "advance":
                    day += dt.timedelta(days=args[0])
                elif kind == "expire":
                    services.mdf_expire(as_of=day)
            except ServiceError:
                pass  # refused: nothing written (checked by the sums below)

            balance = ledger.balances(partner=partner, kind="mdf").get("USD")
            held = balance.held_minor if balance else 0
            payable = balance.payable_minor if balance else 0
            committed = services.committed_minor(
                partner_id=partner.pk, program_id=version.program_id, currency="USD"
            )
            assert held >= 0
            assert held >= committed  # the available balance is never negative
            allocated = _sum(MdfAllocation.objects.all())
            reimbursed = _sum(MdfClaim.objects.filter(status="approved"), "reimbursed_minor")
            expired = -_sum(LedgerEntry.objects.filter(source_type="mdf_expiry"))
            assert held == allocated - reimbursed - expired
            assert payable == reimbursed
            for claim in MdfClaim.objects.filter(status="approved").select_related("request"):
                assert claim.reimbursed_minor == min(
                    claim.request.approved_minor,
                    services.share_of(claim.actual_cost_minor, claim.request.vendor_share_percent),
                )
        transaction.set_rollback(True)


@given(
    budget=st.integers(min_value=1, max_value=10**14),
    cost=st.integers(min_value=0, max_value=10**14),
    percent=st.decimals(min_value="0.01", max_value="100", places=2),
)
def test_reimbursement_is_exact_half_up(budget, cost, percent):
    from decimal import ROUND_HALF_UP, Decimal

    requested = services.share_of(budget, percent)
    exact = Decimal(budget) * percent / 100
    assert abs(Decimal(requested) - exact) <= Decimal("0.5")
    assert requested == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    r = services.reimbursement_for(
        approved_minor=requested, actual_cost_minor=cost, percent=percent
    )
    assert 0 <= r <= requested
    assert r == min(requested, int((Decimal(cost) * percent / 100).quantize(1, ROUND_HALF_UP)))
