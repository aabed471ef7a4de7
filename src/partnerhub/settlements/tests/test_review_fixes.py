"""Review findings, each a worked example: a re-run of a closed month does not take back a
session already on a final statement; a termination before the end month is refused; a
statement recomputed under a finalisation answers 409; a huge payment amount answers 400."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine
from partnerhub.settlements.services import (
    contract_update,
    month_finalise,
    payment_record,
    settlement_run,
    statement_finalise,
)
from partnerhub.settlements.tests.conftest import utc
from partnerhub.settlements.tests.test_api import CONTRACT

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def test_rerun_of_a_closed_month_leaves_sessions_settled_later_alone(settlement_world):
    """October is final for B only (A had no statement then). A's late October session S
    (hosted, 5.00 → A's 30 % = 1.50) and B's late corporate session C billed to A (11.90
    incl. VAT) go onto A's November statement as adjustments; November is finalised. A
    re-run of October must not put S or C on a draft of A's October again."""
    w = settlement_world
    w.contract(w.world.partner_a)
    w.contract(w.world.partner_b, start_month="2026-10")
    from partnerhub.charging.models import CorporateBilling

    CorporateBilling.objects.create(
        partner=w.world.partner_a, enabled=True, currency="EUR", monthly_limit_minor=100_000
    )
    w.session(w.dc_b1, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10")
    Statement.objects.filter(partner=w.world.partner_a, month=OCT).delete()
    month_finalise(month="2026-10")
    late = w.session(w.ac_a, utc(2026, 10, 20, 8), excl="5.00")
    corporate = w.session(
        w.dc_b1,
        utc(2026, 10, 21, 8),
        excl="10.00",
        incl="11.90",
        payment_method="corporate",
        corporate_partner=w.world.partner_a,
    )
    settlement_run(month="2026-11", finalise=True)
    november = Statement.objects.get(partner=w.world.partner_a, month=NOV)
    assert november.adjustments_minor == 150 - 1190
    assert SessionSettlement.objects.filter(session=late, is_final=True).count() == 1
    assert SessionSettlement.objects.filter(session=corporate, is_final=True).count() == 2

    settlement_run(month="2026-10")

    # A's contract is in force in October, so a draft is made, but without S or C.
    october = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert october.status == "draft"
    assert not SessionSettlement.objects.filter(statement=october).exists()
    assert (october.sessions, october.revenue_minor, october.corporate_minor) == (0, 0, 0)
    assert october.net_minor == 0
    assert month_finalise(month="2026-10") == 1
    for session in (late, corporate):
        finals = SessionSettlement.objects.filter(session=session, is_final=True)
        assert {s.statement.month for s in finals} == {NOV}


def test_rerun_of_a_closed_month_makes_no_draft_only_for_settled_sessions(settlement_world):
    """Without a contract in October, A's only reason for an October draft would be the late
    session already settled in November: no draft at all."""
    w = settlement_world
    w.contract(w.world.partner_a, start_month="2026-11")
    w.contract(w.world.partner_b, start_month="2026-10")
    w.session(w.dc_b1, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10", finalise=True)
    w.session(w.ac_a, utc(2026, 10, 20, 8), excl="5.00")
    settlement_run(month="2026-11", finalise=True)
    line = StatementLine.objects.get(
        statement__partner=w.world.partner_a, statement__month=NOV, is_adjustment=True
    )
    assert (line.kind, line.original_month, line.sessions) == ("no_contract", OCT, 1)

    run = settlement_run(month="2026-10")

    assert run.statements == 0
    assert not Statement.objects.filter(partner=w.world.partner_a, month=OCT).exists()


# --- contracts: termination --------------------------------------------------------------------


def test_termination_before_the_end_month_is_refused(settlement_world):
    w = settlement_world
    with pytest.raises(ServiceError) as exc:
        w.contract(end_month="2026-12", auto_renew=True, terminated_after="2026-06")
    assert exc.value.field == "terminated_after"
    with pytest.raises(ServiceError) as exc:
        w.contract(end_month="2026-12", terminated_after="2027-06")  # no auto-renewal
    assert exc.value.field == "terminated_after"
    contract = w.contract(end_month="2026-12", auto_renew=True, terminated_after="2026-12")
    with pytest.raises(ServiceError) as exc:
        contract_update(contract=contract, data={"terminated_after": "2026-11"})
    assert exc.value.field == "terminated_after"
    # A second contract from 2027 no longer overlaps; one from 2026-07 still does.
    w.contract(start_month="2027-01", end_month="2027-12")
    with pytest.raises(Conflict):
        w.contract(name="Mid-year", start_month="2026-07", end_month="2026-08")


def test_termination_before_the_end_month_is_refused_by_the_api(settlement_world, api_as):
    w = settlement_world
    admin = api_as(w.world.program_admin)
    url = f"/settlements/partners/{w.world.partner_a.pk}/contracts"
    r = admin.post(url, {**CONTRACT, "auto_renew": True, "terminated_after": "2026-06"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "terminated_after"])
    r = admin.post(url, CONTRACT)
    assert r.status_code == 201
    body = {"auto_renew": True, "terminated_after": "2026-11"}
    r = admin.patch(f"/settlements/contracts/{r.body['id']}", body)
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "terminated_after"])


# --- finalisation under a concurrent run -------------------------------------------------------


def test_finalising_a_statement_recomputed_meanwhile_answers_409(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10")
    stale = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    settlement_run(month="2026-10")  # deletes and recreates the draft (a new id)
    with pytest.raises(Conflict, match="recomputed by a settlement run; reload it") as exc:
        statement_finalise(statement=stale)
    assert exc.value.field == "statement"
    fresh = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert fresh.pk != stale.pk and fresh.status == "draft"


# --- payments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e30", "1E+40", "99999999999999999999999999999.99"])
def test_a_huge_payment_amount_is_refused_at_the_field(settlement_world, amount):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10", finalise=True)
    st = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    with pytest.raises(ServiceError) as exc:
        payment_record(statement=st, direction="made", paid_on="2026-11-10", amount=amount)
    assert (exc.value.field, str(exc.value.message)) == ("amount", "The amount is too large.")
    assert not st.payments.exists()
