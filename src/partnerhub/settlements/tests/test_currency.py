"""Currencies in settlement (review of issue 7): electricity prices in another currency than
the host's contract are refused at the source and never used by a run; sessions in another
currency are shown per currency in their own currency, hosted apart from corporate, and never
summed into the totals; a contract's currency changes only with its fees restated and never
once it settled a final statement."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from partnerhub.charging.models import CorporateBilling, ElectricityPrice
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.settlements import exports
from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine
from partnerhub.settlements.services import contract_update, settlement_run
from partnerhub.settlements.tests.conftest import utc, written
from partnerhub.settlements.tests.test_api import CONTRACT

OCT = dt.date(2026, 10, 1)


def _prices(currency: str) -> dict:
    return {
        "electricity_prices": [
            {"valid_from": "2026-01-01", "price_per_kwh": "0.25", "currency": currency}
        ]
    }


# --- 1. electricity prices: refused at the source -----------------------------------------------


def test_location_prices_in_another_currency_than_the_hosts_contract_are_refused(
    settlement_world, api_as
):
    """Berlin is hosted by A (contract in EUR): CHF prices answer 400 naming the item's
    currency and leave the prices as they were; EUR prices are taken."""
    w = settlement_world
    w.contract(w.world.partner_a)
    admin = api_as(w.world.program_admin)
    url = f"/charging/locations/{w.berlin.pk}"

    r = admin.patch(url, _prices("CHF"))

    assert r.status_code == 400, r.body
    assert r.body["detail"][0]["loc"] == ["body", "electricity_prices.0.currency"]
    assert "EUR" in r.body["detail"][0]["msg"]
    assert list(w.berlin.electricity_prices.values_list("currency", flat=True)) == ["EUR"]
    r = admin.patch(url, {**_prices("EUR")})
    assert r.status_code == 200, r.body


def test_contract_in_another_currency_than_the_hosts_prices_is_refused(settlement_world, api_as):
    """A hosts Berlin, whose electricity is priced in EUR: a CHF contract is refused on create
    and on change (400, field currency)."""
    w = settlement_world
    admin = api_as(w.world.program_admin)
    url = f"/settlements/partners/{w.world.partner_a.pk}/contracts"

    r = admin.post(url, {**CONTRACT, "currency": "CHF"})

    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "currency"]), r.body
    assert "Berlin depot" in r.body["detail"][0]["msg"]
    r = admin.post(url, {**CONTRACT, "session_fee_ac": "0"})
    assert r.status_code == 201, r.body
    r = admin.patch(f"/settlements/contracts/{r.body['id']}", {"currency": "CHF"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "currency"]), r.body


# --- 1. electricity prices: the run defends itself ---------------------------------------------


def test_a_price_in_another_currency_is_never_used_and_the_statement_says_so(settlement_world):
    """A's contract deducts electricity. Berlin's price (0.25/kWh) is in EUR: 10 kWh deduct
    2.50 from 5.00. Stored in CHF (imported before the check, or the host changed), the run
    deducts nothing, shares the whole 5.00 (30 % = 1.50) and warns on the statement."""
    w = settlement_world
    w.contract(w.world.partner_a, deduct_electricity=True)
    session = w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    settlement_run(month="2026-10")
    written()
    line = SessionSettlement.objects.get(session=session)
    assert (line.electricity_minor, line.deducted_minor, line.partner_share_minor) == (
        250,
        250,
        75,
    )
    assert Statement.objects.get(partner=w.world.partner_a, month=OCT).warning == ""

    ElectricityPrice.objects.filter(location=w.berlin).update(currency="CHF")
    settlement_run(month="2026-10")
    written()

    line = SessionSettlement.objects.get(session=session)
    assert (line.electricity_minor, line.deducted_minor, line.shareable_minor) == (0, 0, 500)
    assert line.partner_share_minor == 150
    statement = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert statement.partner_share_minor == 150
    assert "1 session" in statement.warning
    assert "CHF" in statement.warning and "EUR" in statement.warning
    # B's Paris prices are in EUR like its sessions: no warning there.
    w.contract(w.world.partner_b, deduct_electricity=True)
    w.session(w.dc_b1, utc(2026, 10, 6, 8))
    settlement_run(month="2026-10")
    assert Statement.objects.get(partner=w.world.partner_b, month=OCT).warning == ""


# --- 2. sessions in another currency -----------------------------------------------------------


@pytest.fixture
def foreign(settlement_world):
    """A (EUR contract, EUR corporate billing) has in October: one EUR session (5.00 → 1.50),
    hosted sessions in CHF (5.00 and 2.00) and JPY (1200), and a corporate session in USD
    (10.00) billed to it at B's site."""
    w = settlement_world
    w.contract(w.world.partner_a)
    CorporateBilling.objects.create(
        partner=w.world.partner_a, enabled=True, currency="EUR", monthly_limit_minor=100_000
    )
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="5.00")
    w.session(w.ac_a, utc(2026, 10, 6, 8), excl="5.00", currency="CHF")
    w.session(w.dc_a, utc(2026, 10, 7, 8), excl="2.00", currency="CHF")
    w.session(
        w.ac_a,
        utc(2026, 10, 8, 8),
        currency="JPY",
        energy_cost_minor=1200,
        total_excl_vat_minor=1200,
        total_incl_vat_minor=1428,
    )
    w.session(
        w.dc_b1,
        utc(2026, 10, 9, 8),
        excl="10.00",
        incl="11.90",
        currency="USD",
        payment_method="corporate",
        corporate_partner=w.world.partner_a,
    )
    settlement_run(month="2026-10")
    return Statement.objects.get(partner=w.world.partner_a, month=OCT)


def test_foreign_currency_sessions_are_shown_per_currency_and_never_summed(foreign):
    lines = [
        (line.kind, line.currency, line.sessions, line.revenue_minor, line.amount_minor)
        for line in StatementLine.objects.filter(statement=foreign)
        .exclude(kind__in=["revenue"])
        .order_by("kind", "currency")
    ]
    assert lines == [
        ("other_currency", "CHF", 2, 700, 0),
        ("other_currency", "JPY", 1, 1200, 0),
        ("other_currency_corporate", "USD", 1, 1000, 0),
    ]
    # Only the EUR session counts: 30 % of 5.00; no corporate charge in EUR.
    assert (foreign.revenue_minor, foreign.partner_share_minor) == (500, 150)
    assert (foreign.corporate_minor, foreign.net_minor) == (0, 150)


def test_foreign_currency_lines_agree_in_api_csv_and_pdf(foreign, settlement_world, api_as):
    w = settlement_world
    finance = api_as(w.world.finance)
    r = finance.get(f"/settlements/statements/{foreign.pk}/lines")
    assert r.status_code == 200, r.body
    shown = {
        (line["kind"], line["currency"]): (line["revenue"], line["amount"])
        for line in r.body
        if line["kind"].startswith("other_currency")
    }
    assert shown == {
        ("other_currency", "CHF"): ("7.00", "0.00"),
        ("other_currency", "JPY"): ("1200", "0"),
        ("other_currency_corporate", "USD"): ("10.00", "0.00"),
    }
    revenue = [line for line in r.body if line["kind"] == "revenue"]
    assert [(line["currency"], line["revenue"]) for line in revenue] == [("EUR", "5.00")]

    sessions = finance.get(f"/settlements/statements/{foreign.pk}/sessions").body["items"]
    assert sorted((s["currency"], s["revenue"]) for s in sessions) == [
        ("CHF", "2.00"),
        ("CHF", "5.00"),
        ("EUR", "5.00"),
        ("JPY", "1200"),
        ("USD", "10.00"),
    ]

    rows = list(csv.reader(io.StringIO(exports.statement_csv(foreign))))
    header = rows[3]
    body = [dict(zip(header, row, strict=True)) for row in rows[4:] if len(row) == len(header)]
    assert {(r["kind"], r["currency"], r["revenue"]) for r in body if "other" in r["kind"]} == {
        ("other_currency", "CHF", "7.00"),
        ("other_currency", "JPY", "1200"),
        ("other_currency_corporate", "USD", "10.00"),
    }
    per_session = list(csv.DictReader(io.StringIO("".join(exports.sessions_csv(foreign)))))
    assert sorted((r["currency"], r["revenue_excl_vat"]) for r in per_session) == [
        ("CHF", "2.00"),
        ("CHF", "5.00"),
        ("EUR", "5.00"),
        ("JPY", "1200"),
        ("USD", "10.00"),
    ]

    html = exports.statement_html(foreign)
    assert "1,200 JPY" in html and "7.00 CHF" in html and "10.00 USD" in html
    assert "Corporate billing sessions in another currency" in html


# --- 4. contract currency changes -------------------------------------------------------------


def test_currency_change_needs_the_fees_again(settlement_world, api_as):
    """1.50 EUR is stored as 150 minor units: switching to JPY must not make it 150 JPY.
    Child One hosts nothing (no electricity prices to agree with)."""
    w = settlement_world
    admin = api_as(w.world.program_admin)
    url = f"/settlements/partners/{w.world.child_1.pk}/contracts"
    r = admin.post(url, {**CONTRACT, "session_fee_ac": "1.50", "kwh_fee_dc": "0.05"})
    assert r.status_code == 201, r.body
    contract_url = f"/settlements/contracts/{r.body['id']}"

    r = admin.patch(contract_url, {"currency": "JPY"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "session_fee_ac"])
    assert "1.50 EUR" in r.body["detail"][0]["msg"]
    r = admin.patch(contract_url, {"currency": "JPY", "session_fee_ac": "200"})
    assert (r.status_code, r.body["detail"][0]["loc"]) == (400, ["body", "kwh_fee_dc"])
    assert admin.get(contract_url).body["currency"] == "EUR"

    r = admin.patch(contract_url, {"currency": "JPY", "session_fee_ac": "200", "kwh_fee_dc": "7"})

    assert r.status_code == 200, r.body
    assert (r.body["currency"], r.body["session_fee_ac"]) == ("JPY", "200")
    # Other changes without a currency change keep the fees as they are.
    r = admin.patch(contract_url, {"name": "Renamed"})
    assert (r.status_code, r.body["session_fee_ac"]) == (200, "200")


def test_currency_change_is_refused_once_a_final_statement_used_the_contract(settlement_world):
    w = settlement_world
    contract = w.contract(w.world.child_1)
    settlement_run(month="2026-10", finalise=True)
    assert Statement.objects.get(partner=w.world.child_1, month=OCT).is_final

    with pytest.raises(Conflict) as exc:
        contract_update(contract=contract, data={"currency": "CHF"})

    assert exc.value.field == "currency"
    contract.refresh_from_db()
    assert contract.currency == "EUR"
    with pytest.raises(ServiceError) as exc:  # still named, still refused with a bad code
        contract_update(contract=contract, data={"currency": "??"})
    assert exc.value.field == "currency"
