"""The settlement API end to end: contracts, a run, statement detail, lines, per-session
lines, CSV and PDF exports, finalisation, payments, running figures and receipts."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest

from partnerhub.settlements.models import Statement
from partnerhub.settlements.tests.conftest import utc

CONTRACT = {
    "name": "Berlin depot",
    "start_month": "2026-01",
    "end_month": "2026-12",
    "ac_share_percent": "30",
    "dc_share_percent": "40",
    "session_fee_ac": "0.30",
    "vat_percent": "19",
    "supplier_on_receipts": True,
}


@pytest.fixture
def settled(settlement_world, api_as, django_capture_on_commit_callbacks):
    w = settlement_world
    admin = api_as(w.world.program_admin)
    r = admin.post(f"/settlements/partners/{w.world.partner_a.pk}/contracts", CONTRACT)
    assert r.status_code == 201, r.body
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    w.session(w.dc_a, utc(2026, 10, 6, 8), kwh="20", excl="12.34", fee="1.00")
    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(w.world.finance).post("/settlements/runs", {"month": "2026-10"})
    assert r.status_code == 201, r.body
    run = api_as(w.world.finance).get(f"/settlements/runs/{r.body['id']}")
    assert run.body["status"] == "succeeded", run.body
    return Statement.objects.get(partner=w.world.partner_a)


def test_contract_validation_names_the_field(settlement_world, api_as):
    w = settlement_world
    admin = api_as(w.world.program_admin)
    url = f"/settlements/partners/{w.world.partner_a.pk}/contracts"
    r = admin.post(url, {**CONTRACT, "reimburse_electricity": True})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "reimburse_electricity"])
    r = admin.post(url, {**CONTRACT, "end_month": "2025-12"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "end_month"])
    r = admin.post(url, {**CONTRACT, "ac_share_percent": "100.5"})
    assert r.status_code == 422
    r = admin.post(url, {**CONTRACT, "start_month": "2026-13"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "start_month"])
    assert admin.post(url, CONTRACT).status_code == 201
    r = admin.post(url, {**CONTRACT, "start_month": "2026-12", "end_month": "2027-03"})
    assert r.status_code == 409 and "Overlaps" in r.body["detail"][0]["msg"]
    # The partner's own people read it; they do not change it.
    r = api_as(w.world.admin_a).get(url)
    assert [c["session_fee_ac"] for c in r.body] == ["0.30"]
    cid = r.body[0]["id"]
    assert (
        api_as(w.world.admin_a).patch(f"/settlements/contracts/{cid}", {"name": "x"}).status_code
        == 403
    )
    r = admin.patch(
        f"/settlements/contracts/{cid}", {"auto_renew": True, "terminated_after": "2027-02"}
    )
    assert (r.status_code, r.body["terminated_after"]) == (200, "2027-02")


def test_statement_detail_lines_and_sessions(settled, settlement_world, api_as):
    client = api_as(settlement_world.world.admin_a)
    r = client.get(f"/settlements/statements/{settled.pk}")
    assert r.status_code == 200, r.body
    # P: 1.50 (AC) + 4.94 (DC); session fee 0.30 (AC); VAT 19 % of 0.30 = 0.057 → 0.06.
    assert (r.body["partner_share"], r.body["fees"], r.body["vat"]) == ("6.44", "0.30", "0.06")
    assert r.body["net"] == "6.08"
    assert r.body["status"] == "draft" and r.body["open_balance"] is None
    lines = client.get(f"/settlements/statements/{settled.pk}/lines").body
    assert [(x["kind"], x["current_type"], x["amount"]) for x in lines] == [
        ("revenue", "AC", "1.50"),
        ("revenue", "DC", "4.94"),
        ("session_fee", "AC", "-0.30"),
        ("vat", "", "-0.06"),
    ]
    sessions = client.get(f"/settlements/statements/{settled.pk}/sessions").body
    assert sessions["count"] == 2
    assert {s["partner_share"] for s in sessions["items"]} == {"1.50", "4.94"}


def test_csv_exports(settled, settlement_world, api_as):
    client = api_as(settlement_world.world.viewer)
    r = client.get(f"/settlements/statements/{settled.pk}/csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.body.decode())))
    header = rows[3]
    body = [dict(zip(header, row, strict=True)) for row in rows[4:8]]
    assert [(b["kind"], b["partner_share"], b["amount"]) for b in body] == [
        ("revenue", "1.50", "1.50"),
        ("revenue", "4.94", "4.94"),
        ("session_fee", "0.00", "-0.30"),
        ("vat", "0.00", "-0.06"),
    ]
    assert rows[-1] == ["net", "6.08"]
    r = client.get(f"/settlements/statements/{settled.pk}/sessions-csv")
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert sorted(
        (row["current_type"], row["shareable"], row["partner_share"]) for row in rows
    ) == [
        ("AC", "5.00", "1.50"),
        ("DC", "12.34", "4.94"),
    ]


def test_pdf_export_carries_the_statement_number(settled, settlement_world, api_as):
    finance = api_as(settlement_world.world.finance)
    r = finance.post(f"/settlements/statements/{settled.pk}/finalise", {})
    assert (r.status_code, r.body["number"]) == (200, "ST-2026-00001"), r.body
    r = finance.get(f"/settlements/statements/{settled.pk}/pdf")
    assert r.status_code == 200
    assert r.body.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=r.body, capture_output=True, check=True
        ).stdout.decode()
        assert "ST-2026-00001" in text


def test_finalised_statement_payments_and_balance(settled, settlement_world, api_as):
    w = settlement_world
    finance = api_as(w.world.finance)
    url = f"/settlements/statements/{settled.pk}"
    r = finance.post(
        f"{url}/payments", {"direction": "made", "paid_on": "2026-11-05", "amount": "6"}
    )
    assert r.status_code == 409  # a draft takes no payment
    assert api_as(w.world.manager).post(f"{url}/finalise", {}).status_code == 403
    assert finance.post(f"{url}/finalise", {}).status_code == 200
    assert finance.post(f"{url}/finalise", {}).status_code == 409
    r = finance.post(
        f"{url}/payments", {"direction": "made", "paid_on": "2026-11-05", "amount": "6"}
    )
    assert r.status_code == 201, r.body
    assert finance.get(url).body["open_balance"] == "0.08"
    assert [p["amount"] for p in api_as(w.world.admin_a).get(f"{url}/payments").body] == ["6.00"]


def test_running_figures_keep_nothing(settlement_world, api_as):
    w = settlement_world
    w.contract()
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    client = api_as(w.world.admin_a)
    r = client.get(f"/settlements/partners/{w.world.partner_a.pk}/running", month="2026-10")
    assert r.status_code == 200, r.body
    assert (r.body["status"], r.body["totals"]["net"]) == ("running", "1.50")
    assert Statement.objects.count() == 0
    r = client.get(f"/settlements/partners/{w.world.partner_a.pk}/running", month="2026-1x")
    assert r.status_code == 422


def test_receipts_one_per_supplier(settlement_world, api_as):
    """A's contract makes A the supplier of card and corporate sessions on its charge points;
    balance-paid sessions and sessions elsewhere are the operator's."""
    from partnerhub.charging.models import Driver

    w = settlement_world
    w.contract(supplier_on_receipts=True)
    driver = Driver.objects.create(external_id="DRV-R", partner=w.world.partner_a, name="Dana")
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="5.00", driver=driver)  # card at A: A
    w.session(w.ac_a, utc(2026, 10, 6, 8), excl="2.00", driver=driver, payment_method="balance")
    w.session(w.dc_b1, utc(2026, 10, 7, 8), excl="3.00", driver=driver)  # B: no contract
    client = api_as(w.world.admin_a)
    r = client.get(f"/settlements/drivers/{driver.pk}/receipts", month="2026-10")
    assert r.status_code == 200, r.body
    assert [(x["supplier"]["kind"], len(x["sessions"]), x["total_excl_vat"]) for x in r.body] == [
        ("operator", 2, "5.00"),
        ("partner", 1, "5.00"),
    ]
    assert r.body[1]["supplier"]["name"] == "Alpha Charging GmbH"
    r = client.get(
        f"/settlements/drivers/{driver.pk}/receipts/pdf",
        month="2026-10",
        supplier="partner",
        partner_id=w.world.partner_a.pk,
    )
    assert r.status_code == 200 and r.body.startswith(b"%PDF")
    assert (
        api_as(w.world.admin_b).get(f"/settlements/drivers/{driver.pk}/receipts").status_code == 404
    )


def test_receipts_issued_in_a_partners_name(settlement_world, api_as):
    """A is the supplier of card and corporate sessions at its charge points: it reads the
    receipts issued in its name, to its own driver and to B's, one per driver; not the
    balance-paid session (the operator's). B reads none of A's."""
    from partnerhub.charging.models import Driver

    w = settlement_world
    w.contract(supplier_on_receipts=True)
    own = Driver.objects.create(external_id="DRV-A", partner=w.world.partner_a, name="Dana")
    theirs = Driver.objects.create(external_id="DRV-B", partner=w.world.partner_b, name="Eli")
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="5.00", driver=own)
    w.session(w.ac_a, utc(2026, 10, 6, 8), excl="2.00", driver=own, payment_method="balance")
    w.session(w.dc_a, utc(2026, 10, 7, 8), excl="3.00", driver=theirs)
    url = f"/settlements/partners/{w.world.partner_a.pk}/issued-receipts"
    client = api_as(w.world.admin_a)
    r = client.get(url, month="2026-10")
    assert r.status_code == 200, r.body
    assert [(x["driver_external_id"], len(x["sessions"]), x["total_excl_vat"]) for x in r.body] == [
        ("DRV-A", 1, "5.00"),
        ("DRV-B", 1, "3.00"),
    ]
    assert {x["supplier"]["partner_id"] for x in r.body} == {w.world.partner_a.pk}
    r = client.get(url, month="2026-10", driver_id=theirs.pk)
    assert [x["driver_id"] for x in r.body] == [theirs.pk]
    assert api_as(w.world.admin_b).get(url, month="2026-10").status_code == 404
    r = api_as(w.world.admin_b).get(
        f"/settlements/partners/{w.world.partner_b.pk}/issued-receipts", month="2026-10"
    )
    assert r.status_code == 200 and r.body == []


def test_cli_run_and_export(settlement_world, tmp_path):
    from django.core.management import call_command

    w = settlement_world
    w.contract()
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    out = io.StringIO()
    call_command("settlements", "run", "--month", "2026-10", "--finalise", stdout=out)
    assert "1 statement(s)" in out.getvalue() and "1 finalised" in out.getvalue()
    target = tmp_path / "st.csv"
    call_command(
        "settlements", "export", "--statement", "ST-2026-00001", "--format", "csv",
        "--output", str(target), stdout=io.StringIO(),
    )  # fmt: skip
    assert target.read_text().splitlines()[-1] == "net,1.50"
    pdf = tmp_path / "st.pdf"
    call_command(
        "settlements", "export", "--statement", "ST-2026-00001", "--output", str(pdf),
        stdout=io.StringIO(),
    )  # fmt: skip
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_drafts_download_is_named_as_its_page_names_it(settled, settlement_world, client):
    """The page says "Draft 2026-10 #5": the file is draft-2026-10-5.csv, not the partner id."""
    from django.urls import reverse

    from partnerhub.settlements.services import settlement_run

    settlement_run(month="2026-10")  # a new draft, so that its id is not the partner's
    settled = Statement.objects.get(partner=settlement_world.world.partner_a)
    assert settled.pk != settled.partner_id
    client.force_login(settlement_world.world.finance)
    response = client.get(reverse("console:settlement-statement-csv", args=[settled.pk]))
    assert f"Draft 2026-10 #{settled.pk}" == str(settled)
    assert response["Content-Disposition"] == (
        f'attachment; filename="draft-2026-10-{settled.pk}.csv"'
    )
