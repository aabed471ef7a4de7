"""Worked examples of the MDF workflow, figures written out (ev-hardware: USD, vendor share
50%, fiscal quarters from 1 February)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.incentives import ledger
from partnerhub.incentives.models import LedgerEntry
from partnerhub.mdf import services
from partnerhub.mdf.models import RequestStatus
from partnerhub.mdf.tests.conftest import Q1, proof

AFTER = dt.date(2025, 3, 10)  # after the roadshow (1-5 March 2025)


def _fund(world, partner=None):
    return services.fund_for(
        partner_id=(partner or world.partner_a).pk,
        program_id=world.partner_a.track_memberships.get().program_id,
        currency="USD",
    )


def test_allocation_posts_a_held_accrual_on_the_quarter_start(world, allocate):
    allocation = allocate("20000.00")
    assert allocation.amount_minor == 2_000_000
    entry = LedgerEntry.objects.get(source_type="mdf_allocation", source_id=allocation.pk)
    assert (entry.kind, entry.entry_type, entry.amount_minor) == ("mdf", "accrual", 2_000_000)
    assert entry.payable is False
    assert entry.booked_on == Q1
    assert ledger.balances(partner=world.partner_a, kind="mdf")["USD"].held_minor == 2_000_000


def test_allocation_must_start_a_fiscal_quarter(world, allocate):
    with pytest.raises(ServiceError) as exc:
        allocate("100.00", quarter_start=dt.date(2025, 1, 1))
    assert exc.value.field == "quarter_start"
    assert "2024-11-01 to 2025-01-31" in exc.value.message
    assert not LedgerEntry.objects.exists()


def test_request_is_budget_times_vendor_share(world, mdf_request):
    # Budget 10,000.00 at the program's 50% → 5,000.00 requested.
    req = mdf_request("10000.00")
    assert req.vendor_share_percent == Decimal(50)
    assert req.requested_minor == 500_000
    assert req.status == RequestStatus.SUBMITTED
    # 33.33 at 50% = 16.665 → 16.67 (half-up).
    assert mdf_request("33.33").requested_minor == 1667
    # A lower share may be asked for; a higher one is refused.
    assert mdf_request("1000.00", vendor_share_percent="25").requested_minor == 25_000
    with pytest.raises(ServiceError) as exc:
        mdf_request("1000.00", vendor_share_percent="60")
    assert exc.value.field == "vendor_share_percent"
    assert "at most 50%" in exc.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget", "0"),
        ("budget", "abc"),
        ("ends_on", "2025-02-01"),
        ("activity_type", "party"),
        ("title", ""),
        ("currency", "EURO"),
    ],
)
def test_bad_request_input_names_the_field(world, mdf_request, field, value):
    with pytest.raises(ServiceError) as exc:
        mdf_request(**{field: value})
    assert exc.value.field == field


def test_full_cycle_reimburses_min_of_approved_and_cost_share(world, allocate, mdf_request):
    allocate("20000.00")
    req = mdf_request("10000.00")  # requests 5,000.00
    services.request_approve(request=req, approved_by=world.manager)
    req.refresh_from_db()
    assert req.approved_minor == 500_000
    fund = _fund(world)
    assert (fund.fund_minor, fund.committed_minor, fund.available_minor) == (
        2_000_000,
        500_000,
        1_500_000,
    )

    # Actual cost 8,000.00 → 50% = 4,000.00; min(5,000.00, 4,000.00) = 4,000.00.
    claim = services.claim_submit(
        request=req, actual_cost="8000.00", files=[proof()], submitted_by=world.admin_a, on=AFTER
    )
    req.refresh_from_db()
    assert req.status == RequestStatus.CLAIMED
    assert _fund(world).committed_minor == 500_000  # still reserved while the claim is open
    services.claim_approve(claim=claim, approved_by=world.manager, on=AFTER)
    claim.refresh_from_db()
    req.refresh_from_db()
    assert claim.reimbursed_minor == 400_000
    assert req.status == RequestStatus.PAID

    legs = LedgerEntry.objects.filter(source_type="mdf_claim", source_id=claim.pk)
    assert sorted((e.amount_minor, e.payable) for e in legs) == [
        (-400_000, False),
        (400_000, True),
    ]
    balance = ledger.balances(partner=world.partner_a, kind="mdf")["USD"]
    # 20,000.00 − 4,000.00 = 16,000.00 left in the fund; 4,000.00 payable to the partner.
    assert (balance.held_minor, balance.payable_minor) == (1_600_000, 400_000)
    fund = _fund(world)
    assert (fund.committed_minor, fund.available_minor, fund.reimbursed_minor) == (
        0,
        1_600_000,
        400_000,
    )


def test_cost_above_budget_is_capped_at_the_approved_amount(world, allocate, mdf_request):
    allocate("20000.00")
    req = mdf_request("10000.00")
    services.request_approve(request=req, approved_by=world.manager, amount="3000.00")
    claim = services.claim_submit(request=req, actual_cost="12000.00", files=[proof()], on=AFTER)
    services.claim_approve(claim=claim, approved_by=world.manager, on=AFTER)
    claim.refresh_from_db()
    # min(3,000.00 approved, 12,000.00 × 50% = 6,000.00) = 3,000.00.
    assert claim.reimbursed_minor == 300_000


def test_approval_beyond_the_available_balance_is_refused_with_the_figures(
    world, allocate, mdf_request
):
    allocate("6000.00")
    first = mdf_request("8000.00")  # 4,000.00
    services.request_approve(request=first, approved_by=world.manager)
    second = mdf_request("10000.00")  # 5,000.00 > 6,000.00 − 4,000.00 = 2,000.00
    with pytest.raises(Conflict) as exc:
        services.request_approve(request=second, approved_by=world.manager)
    assert exc.value.field == "amount"
    assert exc.value.message == (
        "Approving 5,000.00 USD would exceed the available MDF of Alpha Charging: "
        "2,000.00 USD (fund 6,000.00 USD − committed 4,000.00 USD)."
    )
    second.refresh_from_db()
    assert second.status == RequestStatus.SUBMITTED
    # A partial approval within what is available goes through.
    services.request_approve(request=second, approved_by=world.manager, amount="2000.00")
    assert _fund(world).available_minor == 0


def test_without_any_funds_nothing_can_be_approved(world, mdf_request):
    req = mdf_request("100.00")
    with pytest.raises(Conflict, match="available MDF of Alpha Charging: 0.00 USD"):
        services.request_approve(request=req, approved_by=world.manager)


def test_funds_are_per_partner(world, allocate, mdf_request):
    allocate("10000.00", partner=world.partner_b)
    with pytest.raises(Conflict):
        services.request_approve(request=mdf_request("100.00"), approved_by=world.manager)


def test_reject_needs_a_reason_and_closing_releases_the_commitment(world, allocate, mdf_request):
    allocate("1000.00")
    req = mdf_request("2000.00")
    with pytest.raises(ServiceError) as exc:
        services.request_reject(request=req, rejected_by=world.manager, reason="  ")
    assert exc.value.field == "reason"
    services.request_approve(request=req, approved_by=world.manager)
    assert _fund(world).available_minor == 0
    services.request_close(request=req, closed_by=world.admin_a, reason="Event cancelled")
    assert _fund(world).available_minor == 100_000
    with pytest.raises(Conflict):
        services.request_approve(request=req, approved_by=world.manager)


def test_claims_need_an_approved_request_a_finished_activity_and_proof(
    world, allocate, mdf_request
):
    allocate("1000.00")
    req = mdf_request("2000.00")
    with pytest.raises(Conflict, match="only approved requests"):
        services.claim_submit(request=req, actual_cost="10", files=[proof()], on=AFTER)
    services.request_approve(request=req, approved_by=world.manager)
    with pytest.raises(Conflict, match="runs until 2025-03-05"):
        services.claim_submit(
            request=req, actual_cost="10", files=[proof()], on=dt.date(2025, 3, 4)
        )
    with pytest.raises(ServiceError) as exc:
        services.claim_submit(request=req, actual_cost="10", files=[], on=AFTER)
    assert exc.value.field == "files"
    with pytest.raises(ServiceError, match="must be one of"):
        services.claim_submit(
            request=req, actual_cost="10", files=[proof("run.exe", b"MZ")], on=AFTER
        )
    with pytest.raises(ServiceError) as exc:
        services.claim_submit(request=req, actual_cost="-5", files=[proof()], on=AFTER)
    assert exc.value.field == "actual_cost"
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert not req.claims.exists()


def test_a_rejected_claim_can_be_claimed_again(world, allocate, mdf_request, settings):
    allocate("1000.00")
    req = mdf_request("2000.00")
    services.request_approve(request=req, approved_by=world.manager)
    claim = services.claim_submit(request=req, actual_cost="900", files=[proof()], on=AFTER)
    with pytest.raises(ServiceError):
        services.claim_reject(claim=claim, rejected_by=world.manager, reason="")
    services.claim_reject(claim=claim, rejected_by=world.manager, reason="Photos missing")
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert _fund(world).committed_minor == 100_000
    again = services.claim_submit(request=req, actual_cost="900", files=[proof()], on=AFTER)
    services.claim_approve(claim=again, approved_by=world.manager, on=AFTER)
    again.refresh_from_db()
    assert again.reimbursed_minor == 45_000  # min(1,000.00, 900.00 × 50% = 450.00)
    with pytest.raises(Conflict):
        services.claim_approve(claim=again, approved_by=world.manager, on=AFTER)


def test_oversized_proof_is_refused(world, allocate, mdf_request, settings):
    settings.PARTNERHUB_MAX_UPLOAD_BYTES = 10
    allocate("1000.00")
    req = mdf_request("2000.00")
    services.request_approve(request=req, approved_by=world.manager)
    with pytest.raises(ServiceError, match="the limit is 10"):
        services.claim_submit(request=req, actual_cost="1", files=[proof()], on=AFTER)
