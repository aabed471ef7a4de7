"""Expiry of unused MDF at the end of each period, worked examples (ev-hardware expires per
fiscal quarter: Feb-Apr, May-Jul, Aug-Oct, Nov-Jan)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from partnerhub.core.errors import Conflict
from partnerhub.incentives import ledger
from partnerhub.incentives.models import LedgerEntry
from partnerhub.mdf import services
from partnerhub.mdf.models import MdfExpiryRun
from partnerhub.mdf.tests.conftest import Q1, Q2, proof
from partnerhub.programs.models import ProgramVersion


def held(partner):
    b = ledger.balances(partner=partner, kind="mdf").get("USD")
    return b.held_minor if b else 0


def test_expiry_posts_the_unused_balance_once(world, allocate, mdf_request):
    allocate("10000.00")  # Q1, booked 2025-02-01
    allocate("2000.00", quarter_start=Q2)  # Q2 money must survive Q1's expiry
    req = mdf_request("8000.00")  # 4,000.00 requested
    services.request_approve(request=req, approved_by=world.manager)

    runs = services.mdf_expire(as_of=dt.date(2025, 5, 1))
    assert [(r.period_start, r.period_end) for r in runs] == [
        (dt.date(2025, 2, 1), dt.date(2025, 4, 30))
    ]
    # 10,000.00 booked in Q1 − 4,000.00 committed = 6,000.00 expires on 30 April.
    entry = LedgerEntry.objects.get(source_type="mdf_expiry")
    assert (entry.entry_type, entry.amount_minor, entry.payable) == ("adjustment", -600_000, False)
    assert entry.booked_on == dt.date(2025, 4, 30)
    assert entry.source_id == runs[0].pk
    assert held(world.partner_a) == 600_000  # 4,000.00 committed + 2,000.00 of Q2
    assert runs[0].partners == 1 and runs[0].total_minor == 600_000

    # A second run (same day or later in the quarter) posts nothing.
    assert services.mdf_expire(as_of=dt.date(2025, 5, 1)) == []
    assert services.mdf_expire(as_of=dt.date(2025, 7, 31)) == []
    assert LedgerEntry.objects.filter(source_type="mdf_expiry").count() == 1

    # The claim reimburses 3,000.00 (cost 6,000.00 × 50%); Q2 ends with 1,000.00 of the
    # commitment and the 2,000.00 of Q2 unused: 3,000.00 expires on 31 July.
    claim = services.claim_submit(
        request=req, actual_cost="6000.00", files=[proof()], on=dt.date(2025, 5, 10)
    )
    services.claim_approve(claim=claim, approved_by=world.manager, on=dt.date(2025, 5, 12))
    services.mdf_expire(as_of=dt.date(2025, 8, 1))
    assert list(
        LedgerEntry.objects.filter(source_type="mdf_expiry").values_list(
            "booked_on", "amount_minor"
        )
    ) == [(dt.date(2025, 4, 30), -600_000), (dt.date(2025, 7, 31), -300_000)]
    assert held(world.partner_a) == 0


def test_spending_uses_the_oldest_funds_first(world, allocate, mdf_request):
    allocate("1000.00")  # Q1
    allocate("5000.00", quarter_start=Q2)
    req = mdf_request("4000.00", starts_on="2025-04-01", ends_on="2025-04-02")  # 2,000.00
    services.request_approve(request=req, approved_by=world.manager)
    # Committed 2,000.00 > the 1,000.00 of Q1: nothing of Q1 is left to expire.
    services.mdf_expire(as_of=dt.date(2025, 5, 2))
    assert not LedgerEntry.objects.filter(source_type="mdf_expiry").exists()
    assert MdfExpiryRun.objects.count() == 1  # the period is done all the same
    assert held(world.partner_a) == 600_000


def test_no_allocation_into_an_expired_period(world, allocate):
    allocate("10.00")
    services.mdf_expire(as_of=dt.date(2025, 5, 1))
    with pytest.raises(Conflict) as exc:
        allocate("10.00")
    assert exc.value.field == "quarter_start"
    allocate("10.00", quarter_start=Q2)


def test_periods(world, ev_program):
    version = ProgramVersion.objects.get(program=ev_program)
    assert services.quarter_bounds(dt.date(2025, 1, 15), version) == (
        dt.date(2024, 11, 1),
        dt.date(2025, 1, 31),
    )
    assert services.period_bounds(dt.date(2025, 6, 1), "fiscal_year", version) == (
        dt.date(2025, 2, 1),
        dt.date(2026, 1, 31),
    )
    assert services.period_bounds(dt.date(2025, 1, 31), "fiscal_year", version) == (
        dt.date(2024, 2, 1),
        dt.date(2025, 1, 31),
    )
    assert services.period_bounds(dt.date(2025, 6, 1), "never", version) is None
    assert services.last_ended_period(ev_program, dt.date(2025, 5, 1)) == (
        dt.date(2025, 2, 1),
        dt.date(2025, 4, 30),
    )
    assert services.last_ended_period(ev_program, dt.date(2025, 4, 30)) == (
        dt.date(2024, 11, 1),
        dt.date(2025, 1, 31),
    )


def test_expiry_never_posts_nothing(world, allocate, ev_program):
    version = ProgramVersion.objects.get(program=ev_program)
    version.definition["incentives"]["mdf"]["expiry"] = "never"
    version.save()
    allocate("10.00")
    assert services.mdf_expire(as_of=dt.date(2026, 5, 1)) == []
    assert held(world.partner_a) == 1000


def test_cli_and_task(world, allocate, capsys):
    from partnerhub.mdf.tasks import expire_mdf

    allocate("10.00")
    call_command("mdf", "expire", "--as-of", "2025-05-01")
    assert "ev-hardware: 2025-02-01 to 2025-04-30, 1 partner(s)" in capsys.readouterr().out
    expire_mdf.enqueue(as_of="2025-05-01")  # the immediate backend: runs now, posts nothing
    call_command("mdf", "expire", "--as-of", "2025-05-01")
    assert "Nothing to expire" in capsys.readouterr().out
    assert LedgerEntry.objects.filter(source_type="mdf_expiry").count() == 1


def test_an_allocation_is_in_the_programs_currency(world):
    """The program keeps its funds in USD: an EUR allocation would open a fund the partner
    can never spend; a made-up code is refused too."""
    from partnerhub.core.errors import ServiceError

    for currency, message in (("EUR", "keeps its funds in USD"), ("XYZ", "not an ISO 4217")):
        with pytest.raises(ServiceError, match=message) as exc:
            services.allocation_create(
                partner=world.partner_a,
                program=None,
                quarter_start=Q1,
                amount="5000.00",
                currency=currency,
                reason="Launch budget",
                created_by=world.finance,
            )
        assert exc.value.field == "currency"
