"""Worked examples of referral benefits, rebates, SPIFFs, adjustments and customer payments,
with the figures written out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from partnerhub.core.errors import Conflict, NotAllowed, ServiceError
from partnerhub.incentives import ledger
from partnerhub.incentives.models import CustomerPayment, LedgerEntry, ReferralElection
from partnerhub.incentives.services import (
    accrual_run,
    adjustment_create,
    customer_payments_import,
    payout_run,
    rebate_close,
    referral_customer_discount,
    referral_election_create,
    referral_fees_accrue,
    spiff_campaign_create,
    spiff_claim_decide,
    spiff_claim_submit,
)
from partnerhub.incentives.tests.builders import bill, hold, join, load_program, partner, won

pytestmark = pytest.mark.django_db


@pytest.fixture
def fieldwise():
    return load_program("field-service-software.yaml")


@pytest.fixture
def referrer(fieldwise):
    p = partner("Referral Co")
    join(p, fieldwise, "referral")
    hold(p, fieldwise, "referral", "registered", rank=0)
    return p


def referral(p, program, amount="2000.00", submitted_on="2025-08-01"):
    line = bill(p, amount, "2025-09-01", category="subscriptions", currency="AUD")
    return won(p, program, line, source="referral", submitted_on=submitted_on)


def test_referral_fee_fixed_per_closed_won_referral(fieldwise, referrer):
    reg = referral(referrer, fieldwise)
    assert referral_fees_accrue() == 1
    assert referral_fees_accrue() == 0  # once per referral
    entry = LedgerEntry.objects.get(kind="referral_fee")
    # Registered referral partner: a fixed AUD 250.00 per closed-won referral
    assert (entry.amount_minor, entry.currency, entry.source_id) == (25000, "AUD", reg.pk)
    assert referral_customer_discount(registration=reg, on=dt.date(2025, 9, 1)) == 0


def test_referral_fee_percent_of_first_order(fieldwise, referrer):
    hold(referrer, fieldwise, "referral", "select", rank=1)
    referral(referrer, fieldwise, amount="1234.55")
    referral_fees_accrue()
    # Select: 10 % of the first order 1,234.55 = 123.455 -> 123.46 (half-up)
    assert LedgerEntry.objects.get(kind="referral_fee").amount_minor == 12346


@time_machine.travel(dt.datetime(2025, 8, 15, 12, tzinfo=dt.UTC))
def test_election_applies_to_later_referrals_only(fieldwise, referrer):
    before = referral(referrer, fieldwise, submitted_on="2025-08-01")
    referral_election_create(partner=referrer, choice="discount")
    after = referral(referrer, fieldwise, submitted_on="2025-08-20")
    referral_fees_accrue()
    # The referral of 1 August keeps the fee; the one of 20 August carries the discount.
    assert list(LedgerEntry.objects.values_list("source_id", flat=True)) == [before.pk]
    assert referral_customer_discount(registration=after, on=dt.date(2025, 9, 1)) == Decimal(10)
    assert referral_customer_discount(registration=before, on=dt.date(2025, 9, 1)) == 0


@time_machine.travel(dt.datetime(2025, 8, 15, 12, tzinfo=dt.UTC))
def test_election_cannot_be_back_dated(fieldwise, referrer):
    with pytest.raises(ServiceError) as exc:
        referral_election_create(
            partner=referrer, choice="discount", effective_from=dt.date(2025, 8, 1)
        )
    assert exc.value.field == "effective_from"
    assert not ReferralElection.objects.exists()


@time_machine.travel(dt.datetime(2025, 7, 2, 12, tzinfo=dt.UTC))
def test_rebate_quarterly_bands(ev_program):
    big, mid, small = partner("Big"), partner("Mid"), partner("Small")
    for p in (big, mid, small):
        join(p, ev_program, "var")
        hold(p, ev_program, "var", "authorized", rank=0)
    bill(big, "200000.00", "2025-04-10")
    bill(big, "100000.00", "2025-06-30")
    bill(big, "50000.00", "2025-07-01")  # next quarter: not counted
    bill(mid, "150000.00", "2025-05-05")
    bill(small, "100000.00", "2025-05-05")  # not above 100k
    close = rebate_close(
        program=ev_program, rebate_key="hardware-volume", period_day=dt.date(2025, 5, 1)
    )
    amounts = dict(
        LedgerEntry.objects.filter(kind="rebate").values_list("partner_id", "amount_minor")
    )
    # Big: 300,000 > 250k -> 3 % = 9,000.00; Mid: 150,000 > 100k -> 2 % = 3,000.00
    assert amounts == {big.pk: 900_000, mid.pk: 300_000}
    assert (close.partners, close.total_minor) == (2, 1_200_000)
    with pytest.raises(Conflict):
        rebate_close(
            program=ev_program, rebate_key="hardware-volume", period_day=dt.date(2025, 6, 1)
        )


@time_machine.travel(dt.datetime(2025, 6, 2, 12, tzinfo=dt.UTC))
def test_rebate_of_a_running_period_is_refused(ev_program):
    with pytest.raises(ServiceError) as exc:
        rebate_close(
            program=ev_program, rebate_key="hardware-volume", period_day=dt.date(2025, 6, 1)
        )
    assert "has not ended" in exc.value.message


def test_a_spiff_campaign_in_a_made_up_currency_is_refused(ev_program, world):
    with pytest.raises(ServiceError, match="not an ISO 4217 currency code") as exc:
        spiff_campaign_create(
            program=ev_program,
            name="Euro test",
            starts_on=dt.date(2025, 5, 1),
            ends_on=dt.date(2025, 5, 31),
            bounty=Decimal("150.00"),
            currency="QQQ",
        )
    assert exc.value.field == "currency"


def test_spiff_bounty_per_qualifying_sale(ev_program, world):
    from partnerhub.sales.models import Product

    hold(world.partner_a, ev_program, "var", "silver")
    line = bill(world.partner_a, "900.00", "2025-05-10")
    campaign = spiff_campaign_create(
        program=ev_program,
        name="Spring hardware push",
        starts_on=dt.date(2025, 5, 1),
        ends_on=dt.date(2025, 5, 31),
        bounty=Decimal("150.00"),
        currency="USD",
        products=[Product.objects.get(pk=line.product_id)],
        eligible_tiers=["silver", "gold"],
        max_claims_per_partner=5,
    )
    claim = spiff_claim_submit(campaign=campaign, partner=world.partner_a, billing_line=line)
    with pytest.raises(Conflict):
        spiff_claim_submit(campaign=campaign, partner=world.partner_a, billing_line=line)
    with pytest.raises(NotAllowed):  # B's partner cannot claim A's sale
        spiff_claim_submit(campaign=campaign, partner=world.partner_b, billing_line=line)
    spiff_claim_decide(claim=claim, approve=True, actor=world.manager)
    assert ledger.balances(partner=world.partner_a, kind="spiff")["USD"].payable_minor == 15000


def test_spiff_refuses_ineligible_tier_and_outside_dates(ev_program, world):
    from partnerhub.sales.models import Product

    line = bill(world.partner_b, "900.00", "2025-06-10")
    campaign = spiff_campaign_create(
        program=ev_program,
        name="Gold only",
        starts_on=dt.date(2025, 5, 1),
        ends_on=dt.date(2025, 6, 30),
        bounty=Decimal("100"),
        currency="USD",
        products=[Product.objects.get(pk=line.product_id)],
        eligible_tiers=["gold"],
    )
    with pytest.raises(NotAllowed) as exc:
        spiff_claim_submit(campaign=campaign, partner=world.partner_b, billing_line=line)
    assert "gold" in exc.value.message
    late = bill(world.partner_b, "900.00", "2025-07-10")
    hold(world.partner_b, ev_program, "var", "gold", rank=2)
    with pytest.raises(ServiceError) as exc:
        spiff_claim_submit(campaign=campaign, partner=world.partner_b, billing_line=late)
    assert "outside the campaign" in exc.value.message


def test_spiff_rejection_needs_a_reason(ev_program, world):
    campaign = spiff_campaign_create(
        program=ev_program,
        name="Webinar bounty",
        basis="activity",
        starts_on=dt.date(2025, 5, 1),
        ends_on=dt.date(2025, 6, 30),
        bounty=Decimal("50"),
        currency="USD",
    )
    claim = spiff_claim_submit(
        campaign=campaign,
        partner=world.partner_a,
        activity="Customer webinar",
        activity_on=dt.date(2025, 5, 20),
    )
    with pytest.raises(ServiceError) as exc:
        spiff_claim_decide(claim=claim, approve=False, reason=" ")
    assert exc.value.field == "reason"
    spiff_claim_decide(claim=claim, approve=False, reason="No attendee list")
    assert not LedgerEntry.objects.exists()


def test_adjustment_is_a_new_entry_with_a_reason(world):
    with pytest.raises(ServiceError) as exc:
        adjustment_create(
            partner=world.partner_a,
            kind="commission",
            amount=Decimal("-12.50"),
            currency="USD",
            booked_on=dt.date(2025, 5, 1),
            reason="",
        )
    assert exc.value.field == "reason"
    entry = adjustment_create(
        partner=world.partner_a,
        kind="commission",
        amount=Decimal("-12.50"),
        currency="USD",
        booked_on=dt.date(2025, 5, 1),
        reason="Duplicate invoice INV-9",
    )
    assert (entry.entry_type, entry.amount_minor) == ("adjustment", -1250)


def test_customer_payments_import_is_all_or_nothing(ev_program, world):
    line = bill(world.partner_a, "1000.00", "2025-05-10")
    report = customer_payments_import(
        rows=[
            {
                "external_id": "P1",
                "billing_line": line.external_id,
                "amount": "600.00",
                "paid_on": "2025-06-01",
            },
            {
                "external_id": "P2",
                "billing_line": line.external_id,
                "amount": "400.01",
                "paid_on": "2025-06-02",
            },
            {"external_id": "P3", "billing_line": "NOPE", "amount": "1", "paid_on": "2025-06-02"},
        ]
    )
    assert report.refused and not CustomerPayment.objects.exists()
    assert [(e["row"], e["column"]) for e in report.errors] == [(2, "amount"), (3, "billing_line")]
    assert "400.01 is more than the 400.00 USD left to pay" in report.errors[0]["message"]
    ok = customer_payments_import(
        rows=[
            {
                "external_id": "P1",
                "billing_line": line.external_id,
                "amount": "600.00",
                "paid_on": "2025-06-01",
            }
        ]
    )
    assert ok.created == 1


@time_machine.travel(dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC))
def test_payout_refuses_a_reused_reference_with_other_terms(ev_program, world):
    hold(world.partner_a, ev_program, "var", "silver")
    won(world.partner_a, ev_program, bill(world.partner_a, "100.00", "2025-05-10"))
    accrual_run()
    payout_run(reference="JUNE", as_of=dt.date(2025, 6, 30))
    with pytest.raises(Conflict):
        payout_run(reference="JUNE", as_of=dt.date(2025, 6, 29))
