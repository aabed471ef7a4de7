"""Finalisation (numbered, frozen), late sessions as adjustments, payments and balances."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine
from partnerhub.settlements.services import (
    month_finalise,
    open_balance_minor,
    payment_record,
    settlement_run,
    statement_finalise,
)
from partnerhub.settlements.tests.conftest import utc, written

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def test_finalised_statements_are_numbered_gaplessly_and_frozen(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.contract(w.world.partner_b)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    w.session(w.dc_b1, utc(2026, 10, 5, 8))

    run = settlement_run(month="2026-10", finalise=True)

    assert (run.statements, run.finalised) == (2, 2)
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    b = Statement.objects.get(partner=w.world.partner_b, month=OCT)
    assert (a.status, a.number, b.number) == ("final", "ST-2026-00001", "ST-2026-00002")
    assert SessionSettlement.objects.filter(is_final=True).count() == 2
    with pytest.raises(Conflict):
        statement_finalise(statement=a)
    # A re-run leaves final statements alone (same number, same lines).
    before = list(StatementLine.objects.filter(statement=a).values())
    again = settlement_run(month="2026-10")
    assert (again.statements, again.skipped_final) == (0, 2)
    assert list(StatementLine.objects.filter(statement=a).values()) == before
    # November's numbers continue the year's sequence.
    w.session(w.ac_a, utc(2026, 11, 5, 8))
    settlement_run(month="2026-11")
    assert month_finalise(month="2026-11") == 2
    numbers = sorted(Statement.objects.filter(month=NOV).values_list("number", flat=True))
    assert numbers == ["ST-2026-00003", "ST-2026-00004"]


def test_late_session_becomes_an_adjustment_of_the_next_statement(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a, dc_share_percent="40")
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="5.00")  # P 1.50
    settlement_run(month="2026-10", finalise=True)
    october = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert october.net_minor == 150

    late = w.session(w.dc_a, utc(2026, 10, 30, 23), excl="10.00")  # arrives in November
    w.session(w.ac_a, utc(2026, 11, 2, 8), excl="2.00")  # P 0.60

    settlement_run(month="2026-10")  # October is final for A: nothing changes
    october.refresh_from_db()
    assert october.net_minor == 150
    run = settlement_run(month="2026-11")

    assert run.adjustments == 1
    november = Statement.objects.get(partner=w.world.partner_a, month=NOV)
    adjustment = StatementLine.objects.get(statement=november, is_adjustment=True)
    assert (adjustment.kind, adjustment.current_type, adjustment.original_month) == (
        "revenue",
        "DC",
        OCT,
    )
    assert adjustment.partner_share_minor == 400  # 40 % of 10.00, October's contract
    assert adjustment.description == "Adjustment 2026-10: Revenue share (DC)"
    assert november.adjustments_minor == 400
    assert november.net_minor == 60 + 400
    # Re-running November gives the same adjustment; finalising it settles the session once.
    settlement_run(month="2026-11", finalise=True)
    settled = SessionSettlement.objects.filter(session=late, is_final=True)
    assert [s.statement.month for s in settled] == [NOV]
    # December does not settle it again.
    run = settlement_run(month="2026-12")
    assert run.adjustments == 0


def test_late_session_of_a_partner_without_a_statement_in_a_closed_month(settlement_world):
    """October was finalised for B only; A had no statement then: A's late October session
    is an adjustment in November."""
    w = settlement_world
    w.contract(w.world.partner_a)
    w.contract(w.world.partner_b, start_month="2026-10")
    w.session(w.dc_b1, utc(2026, 10, 5, 8))
    # A's contract is in force in October, so A has a statement too: drop it to simulate a
    # month closed before A joined.
    settlement_run(month="2026-10")
    Statement.objects.filter(partner=w.world.partner_a, month=OCT).delete()
    month_finalise(month="2026-10")
    w.session(w.ac_a, utc(2026, 10, 20, 8), excl="5.00")

    settlement_run(month="2026-11")

    november = Statement.objects.get(partner=w.world.partner_a, month=NOV)
    assert november.adjustments_minor == 150


@pytest.mark.parametrize("read_first", [False, True], ids=["lines unread", "lines read"])
def test_finalising_a_stale_draft_that_repeats_a_final_session_is_refused(
    settlement_world, read_first
):
    """Refused by the unique index as the draft's lines are written final, or (lines read
    before, so written already) by the check that precedes numbering."""
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10", finalise=True)
    w.session(w.ac_a, utc(2026, 10, 6, 8))  # late
    settlement_run(month="2026-11")
    settlement_run(month="2026-12")  # holds the same late session as an adjustment
    month_finalise(month="2026-11")
    december = Statement.objects.get(partner=w.world.partner_a, month=dt.date(2026, 12, 1))
    if read_first:
        assert written() == 1
    with pytest.raises(Conflict, match="run the month again"):
        statement_finalise(statement=december)
    settlement_run(month="2026-12")
    december = Statement.objects.get(partner=w.world.partner_a, month=dt.date(2026, 12, 1))
    assert december.adjustments_minor == 0
    assert statement_finalise(statement=december).number == "ST-2026-00003"


def test_payments_and_open_balance(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="100.00")  # P 30.00 payable to A
    settlement_run(month="2026-10")
    st = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    with pytest.raises(Conflict):  # drafts take no payments
        payment_record(statement=st, direction="made", paid_on="2026-11-10", amount="10")
    st = statement_finalise(statement=st)
    assert open_balance_minor(st) == 3000

    payment_record(statement=st, direction="made", paid_on="2026-11-10", amount="25.00")
    assert open_balance_minor(st) == 500
    # Money "received" while the partner is owed goes against the balance: refused unless
    # that is what happened (e.g. the partner sent back part of a payment).
    with pytest.raises(ServiceError, match="nothing is to be received from it") as exc:
        payment_record(statement=st, direction="received", paid_on="2026-11-12", amount="1.50")
    assert exc.value.field == "direction"
    with pytest.raises(ServiceError, match="more than the open balance of 5.00 EUR") as exc:
        payment_record(statement=st, direction="made", paid_on="2026-11-12", amount="5.01")
    assert exc.value.field == "amount"
    payment_record(
        statement=st, direction="received", paid_on="2026-11-12", amount="1.50", allow_excess=True
    )
    assert open_balance_minor(st) == 650  # money back from the partner raises what we owe
    payment_record(statement=st, direction="made", paid_on="2026-11-20", amount="6.50")
    assert open_balance_minor(st) == 0
    with pytest.raises(ServiceError, match="settled: nothing is open"):
        payment_record(statement=st, direction="made", paid_on="2026-11-21", amount="1")
    for field, kwargs in (
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "1.001"}),
        ("direction", {"direction": "sideways"}),
        ("paid_on", {"paid_on": "2026-13-01"}),
    ):
        args = {"direction": "made", "paid_on": "2026-11-20", "amount": "1", **kwargs}
        with pytest.raises(ServiceError) as exc:
            payment_record(statement=st, **args)
        assert exc.value.field == field
