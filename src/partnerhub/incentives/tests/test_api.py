"""/api/v1/incentives: who may read and write, the statement downloads, payout idempotency,
the all-or-nothing customer payments import, SPIFFs and referral elections end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from partnerhub.incentives.models import (
    AccrualRun,
    CustomerPayment,
    LedgerEntry,
    PayoutRun,
    ReferralElection,
    SpiffClaim,
)
from partnerhub.incentives.tests.builders import bill, hold, won

pytestmark = pytest.mark.django_db
IN = "/incentives"


@pytest.fixture
def sales(world, ev_program):
    """Alpha (Silver VAR) sold 1,000.00 on 2025-03-10, registered and won: 80.00 commission
    and 10.00 MDF once accrued. Beta (Silver VAR) sold 2,000.00: 160.00 and 20.00."""
    hold(world.partner_a, ev_program, "var", "silver")
    hold(world.partner_b, ev_program, "var", "silver")
    a = bill(world.partner_a, "1000.00", "2025-03-10")
    won(world.partner_a, ev_program, a)
    b = bill(world.partner_b, "2000.00", "2025-03-12")
    won(world.partner_b, ev_program, b)
    return a, b


def _accrue(api_as, world):
    r = api_as(world.finance).post(f"{IN}/accrual-runs", {})
    assert r.status_code == 201, r.body
    return r.body


def test_accrual_run_and_scoped_ledger(world, sales, api_as):
    body = _accrue(api_as, world)
    assert (body["lines"], body["entries"], body["triggered_by"]) == (2, 4, "finance@vendor.test")
    # Partner users see their own entries only; filters never widen.
    r = api_as(world.admin_a).get(f"{IN}/ledger")
    assert r.status_code == 200, r.body
    assert sorted((e["kind"], e["amount"], e["payable"]) for e in r.body["items"]) == [
        ("commission", "80.00", True),
        ("mdf", "10.00", False),
    ]
    r = api_as(world.admin_a).get(f"{IN}/ledger", partner_id=world.partner_b.pk)
    assert r.body["items"] == []
    # Staff who read every partner see both; a manager only their partners (A, not B).
    assert api_as(world.viewer).get(f"{IN}/ledger").body["count"] == 4
    assert {e["partner_id"] for e in api_as(world.manager).get(f"{IN}/ledger").body["items"]} == {
        world.partner_a.pk
    }
    r = api_as(world.finance).get(f"{IN}/ledger", kind="mdf", date_from="2025-03-11")
    assert [(e["partner_name"], e["amount"]) for e in r.body["items"]] == [("Beta Energy", "20.00")]
    # Runs: staff read, only finance and program admins start one.
    assert api_as(world.viewer).get(f"{IN}/accrual-runs").body["count"] == 1
    assert api_as(world.admin_a).get(f"{IN}/accrual-runs").status_code == 403
    for user in (world.manager, world.viewer, world.admin_a):
        assert api_as(user).post(f"{IN}/accrual-runs", {}).status_code == 403
    assert AccrualRun.objects.count() == 1


def test_balances(world, sales, api_as):
    _accrue(api_as, world)
    r = api_as(world.admin_a).get(f"{IN}/balances")
    assert r.status_code == 200, r.body
    assert [(b["kind"], b["total"], b["payable"], b["held"]) for b in r.body["items"]] == [
        ("commission", "80.00", "80.00", "0.00"),
        ("mdf", "10.00", "0.00", "10.00"),
    ]
    r = api_as(world.finance).get(f"{IN}/balances", partner_id=world.partner_b.pk)
    assert [(b["kind"], b["total_minor"]) for b in r.body["items"]] == [
        ("commission", 16000),
        ("mdf", 2000),
    ]
    assert (
        api_as(world.admin_b).get(f"{IN}/balances", partner_id=world.partner_a.pk).body["items"]
        == []
    )


def test_statement_json_csv_pdf_and_tenancy(world, sales, api_as):
    _accrue(api_as, world)
    a = world.partner_a.pk
    client = api_as(world.sales_a)
    r = client.get(f"{IN}/statements/{a}", date_from="2025-03-01", date_to="2025-03-31")
    assert r.status_code == 200, r.body
    [usd] = r.body["currencies"]
    assert (usd["opening"], usd["period_total"], usd["closing"]) == ("0.00", "90.00", "90.00")
    assert (usd["closing_payable"], usd["closing_held"]) == ("80.00", "10.00")
    assert [(t["kind"], t["amount"]) for t in usd["totals_by_kind"]] == [
        ("commission", "80.00"),
        ("mdf", "10.00"),
    ]
    r = client.get(f"{IN}/statements/{a}/csv", date_from="2025-03-01", date_to="2025-03-31")
    assert r.status_code == 200
    text = r.body.decode()
    assert text.splitlines()[1].startswith("opening,USD,2025-03-01")
    assert text.splitlines()[-1].endswith(",90.00")
    r = client.get(f"{IN}/statements/{a}/pdf", date_from="2025-03-01", date_to="2025-03-31")
    assert r.status_code == 200 and r.body.startswith(b"%PDF")
    # Defaults: this year up to today (no entries this year in the example: nothing owed
    # this year but the balance brought forward).
    r = client.get(f"{IN}/statements/{a}")
    assert r.body["date_to"] == timezone.localdate().isoformat()
    # Another tenant's statement is not found, in every format.
    b = world.partner_b.pk
    for suffix in ("", "/csv", "/pdf"):
        assert client.get(f"{IN}/statements/{b}{suffix}").status_code == 404
        assert api_as(world.manager).get(f"{IN}/statements/{b}{suffix}").status_code == 404
    # A period that ends before it starts is the caller's error, named.
    r = client.get(f"{IN}/statements/{a}", date_from="2025-04-01", date_to="2025-03-01")
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "date_from"


def test_payout_run_is_idempotent_by_reference(world, sales, api_as):
    _accrue(api_as, world)
    finance = api_as(world.finance)
    body = {"reference": "PAY-2025-03", "as_of": "2025-03-31"}
    r = finance.post(f"{IN}/payout-runs", body)
    assert r.status_code == 201, r.body
    # A and B: 80.00 + 160.00 commission payable; the MDF is held, not paid.
    assert (r.body["partners"], r.body["total_minor"]) == (2, 24000)
    first_id = r.body["id"]
    again = finance.post(f"{IN}/payout-runs", body)
    assert (again.status_code, again.body["id"]) == (200, first_id)
    assert LedgerEntry.objects.filter(entry_type="payout").count() == 2
    r = finance.post(f"{IN}/payout-runs", {"reference": "PAY-2025-03", "as_of": "2025-04-30"})
    assert r.status_code == 409, r.body
    r = finance.post(f"{IN}/payout-runs", {"reference": "PAY-2025-04", "as_of": "2025-04-30"})
    assert (r.status_code, r.body["partners"], r.body["total_minor"]) == (201, 0, 0)
    future = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    r = finance.post(f"{IN}/payout-runs", {"reference": "PAY-FUTURE", "as_of": future})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "as_of"
    assert api_as(world.manager).post(f"{IN}/payout-runs", body).status_code == 403
    assert api_as(world.admin_a).get(f"{IN}/payout-runs").status_code == 403
    assert api_as(world.viewer).get(f"{IN}/payout-runs").body["count"] == 2
    assert PayoutRun.objects.count() == 2


def test_customer_payments_import_refuses_a_bad_row_and_writes_nothing(world, sales, api_as):
    a, _ = sales
    finance = api_as(world.finance)
    rows = [
        {"external_id": "PAY-1", "billing_line": a.external_id, "amount": "400.00",
         "paid_on": "2025-04-01"},
        {"external_id": "PAY-2", "billing_line": "NO-SUCH-LINE", "amount": "1.00",
         "paid_on": "2025-04-01"},
        {"external_id": "PAY-3", "billing_line": a.external_id, "amount": "700.00",
         "paid_on": "2025-04-02"},
    ]  # fmt: skip
    r = finance.post(f"{IN}/customer-payments", {"rows": rows})
    assert r.status_code == 400, r.body
    assert [d["loc"] for d in r.body["detail"]] == [
        ["body", "rows", 1, "billing_line"],
        ["body", "rows", 2, "amount"],  # 400 + 700 is more than the 1,000.00 invoiced
    ]
    assert r.body["detail"][0]["msg"].startswith("Row 2, billing_line:")
    assert CustomerPayment.objects.count() == 0
    r = finance.post(f"{IN}/customer-payments", {"rows": [rows[0]]})
    assert r.status_code == 200 and r.body == {"rows": 1, "created": 1, "unchanged": 0}
    r = finance.post(f"{IN}/customer-payments", {"rows": [rows[0]]})
    assert r.body == {"rows": 1, "created": 0, "unchanged": 1}
    assert (
        api_as(world.admin_a).post(f"{IN}/customer-payments", {"rows": [rows[0]]}).status_code
        == 403
    )
    assert finance.post(f"{IN}/customer-payments", {"rows": []}).status_code == 422


def test_adjustments_by_finance_only_with_named_fields(world, api_as):
    finance = api_as(world.finance)
    body = {
        "partner_id": world.partner_a.pk,
        "kind": "commission",
        "amount": "-12.34",
        "currency": "USD",
        "booked_on": "2025-05-01",
        "reason": "Clawback",
    }
    r = finance.post(f"{IN}/adjustments", body)
    assert r.status_code == 201, r.body
    assert (r.body["amount"], r.body["entry_type"], r.body["memo"]) == (
        "-12.34",
        "adjustment",
        "Clawback",
    )
    r = finance.post(f"{IN}/adjustments", {**body, "amount": "0"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "amount"
    r = finance.post(f"{IN}/adjustments", {**body, "amount": "1.234"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "amount"
    r = finance.post(f"{IN}/adjustments", {**body, "program": "nope"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "program"
    # A made-up currency would be booked, shown and summed; a future day counted today.
    r = finance.post(f"{IN}/adjustments", {**body, "currency": "XYZ"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "currency"
    assert "not an ISO 4217 currency code" in r.body["detail"][0]["msg"]
    r = finance.post(f"{IN}/adjustments", {**body, "booked_on": "2999-01-01"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "booked_on"
    assert api_as(world.manager).post(f"{IN}/adjustments", body).status_code == 403
    assert api_as(world.admin_a).post(f"{IN}/adjustments", body).status_code == 403
    r = api_as(world.admin_b).post(f"{IN}/adjustments", body)
    assert r.status_code == 404  # A is not B's to see
    assert LedgerEntry.objects.count() == 1


def test_referral_elections(world, api_as):
    admin_a = api_as(world.admin_a)
    r = admin_a.post(f"{IN}/referral-elections", {"choice": "discount", "reason": "Price-led"})
    assert r.status_code == 201, r.body
    assert (r.body["partner_id"], r.body["program"], r.body["choice"]) == (
        world.partner_a.pk,
        "ev-hardware",
        "discount",
    )
    assert r.body["effective_from"] == timezone.localdate().isoformat()
    r = admin_a.post(f"{IN}/referral-elections", {"choice": "fee", "effective_from": "2020-01-01"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "effective_from"
    # A sales user may not elect; another partner's admin cannot reach A.
    assert (
        api_as(world.sales_a).post(f"{IN}/referral-elections", {"choice": "fee"}).status_code == 403
    )
    r = api_as(world.admin_b).post(
        f"{IN}/referral-elections", {"choice": "fee", "partner_id": world.partner_a.pk}
    )
    assert r.status_code == 404
    # Staff elect for a partner they may change, naming it.
    assert (
        api_as(world.manager).post(f"{IN}/referral-elections", {"choice": "fee"}).status_code == 400
    )
    r = api_as(world.manager).post(
        f"{IN}/referral-elections", {"choice": "fee", "partner_id": world.partner_a.pk}
    )
    assert r.status_code == 201, r.body
    assert (
        api_as(world.viewer)
        .post(f"{IN}/referral-elections", {"choice": "fee", "partner_id": world.partner_a.pk})
        .status_code
        == 403
    )
    # The history, newest first, scoped.
    r = admin_a.get(f"{IN}/referral-elections")
    assert [e["choice"] for e in r.body["items"]] == ["fee", "discount"]
    assert api_as(world.admin_b).get(f"{IN}/referral-elections").body["items"] == []
    assert ReferralElection.objects.count() == 2


def test_spiff_campaign_claim_and_decision(world, sales, ev_program, api_as):
    a, b = sales
    program_admin = api_as(world.program_admin)
    campaign = {
        "program": "ev-hardware",
        "name": "Spring push",
        "basis": "sale",
        "products": [a.product.sku],
        "starts_on": "2025-03-01",
        "ends_on": "2025-03-31",
        "bounty": "250.00",
        "currency": "USD",
    }
    assert api_as(world.manager).post(f"{IN}/spiffs", campaign).status_code == 403
    r = program_admin.post(f"{IN}/spiffs", {**campaign, "products": ["NOPE"]})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "products"
    r = program_admin.post(f"{IN}/spiffs", {**campaign, "ends_on": "2025-02-01"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "ends_on"
    r = program_admin.post(f"{IN}/spiffs", campaign)
    assert r.status_code == 201, r.body
    cid = r.body["id"]
    assert (r.body["bounty"], r.body["products"]) == ("250.00", [a.product.sku])
    assert api_as(world.sales_a).get(f"{IN}/spiffs").body["count"] == 1
    assert api_as(world.sales_a).get(f"{IN}/spiffs", open_on="2025-04-01").body["count"] == 0
    # Alpha's sales user claims its own sale; B's sale is not Alpha's to claim.
    sales_a = api_as(world.sales_a)
    r = sales_a.post(f"{IN}/spiffs/{cid}/claims", {"billing_line": b.external_id})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "billing_line"
    r = sales_a.post(f"{IN}/spiffs/{cid}/claims", {"billing_line": a.external_id})
    assert r.status_code == 201, r.body
    claim_id = r.body["id"]
    assert (r.body["status"], r.body["activity_on"]) == ("submitted", "2025-03-10")
    r = sales_a.post(f"{IN}/spiffs/{cid}/claims", {"billing_line": a.external_id})
    assert r.status_code == 409
    assert sales_a.post(f"{IN}/spiffs/987654/claims", {}).status_code == 404
    # Claims are scoped; the staff who manage Alpha decide, nobody else.
    assert api_as(world.admin_b).get(f"{IN}/spiff-claims").body["items"] == []
    assert api_as(world.manager).get(f"{IN}/spiff-claims", status="submitted").body["count"] == 1
    decision = f"{IN}/spiff-claims/{claim_id}/decision"
    assert sales_a.post(decision, {"approve": True}).status_code == 403
    assert api_as(world.finance).post(decision, {"approve": True}).status_code == 403
    assert api_as(world.other_manager).post(decision, {"approve": True}).status_code == 404
    r = api_as(world.manager).post(decision, {"approve": False})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "reason"
    r = api_as(world.manager).post(decision, {"approve": True})
    assert r.status_code == 200 and r.body["status"] == "approved"
    assert api_as(world.manager).post(decision, {"approve": True}).status_code == 409
    entry = LedgerEntry.objects.get(kind="spiff")
    assert (entry.partner_id, entry.amount_minor, entry.booked_on) == (
        world.partner_a.pk,
        25000,
        dt.date(2025, 3, 10),
    )
    assert SpiffClaim.objects.get().status == "approved"


def test_rebate_close_via_api(world, ev_program, api_as):
    # Alpha (Silver VAR) billed 150,000.00 of hardware in Q1 2025: 2 % above 100k on all of
    # it (basis "all" by default) = 3,000.00.
    hold(world.partner_a, ev_program, "var", "silver")
    bill(world.partner_a, "150000.00", "2025-02-10")
    finance = api_as(world.finance)
    body = {"program": "ev-hardware", "rebate": "hardware-volume", "period_day": "2025-02-10"}
    assert api_as(world.manager).post(f"{IN}/rebates/close", body).status_code == 403
    r = finance.post(f"{IN}/rebates/close", {**body, "rebate": "nope"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "rebate"
    r = finance.post(f"{IN}/rebates/close", body)
    assert r.status_code == 201, r.body
    assert (r.body["period_start"], r.body["period_end"]) == ("2025-01-01", "2025-03-31")
    assert (r.body["partners"], r.body["total_minor"]) == (1, 300000)
    assert finance.post(f"{IN}/rebates/close", body).status_code == 409
    assert api_as(world.viewer).get(f"{IN}/rebates/closes").body["count"] == 1
    assert api_as(world.admin_a).get(f"{IN}/rebates/closes").status_code == 403


def test_anonymous_is_refused(api_as):
    for path in ("/ledger", "/balances", "/spiffs", "/spiff-claims", "/referral-elections"):
        assert api_as(None).get(f"{IN}{path}").status_code == 401
