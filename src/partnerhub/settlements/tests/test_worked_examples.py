"""Worked examples: each month's figures written out by hand, then checked line by line."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine
from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.tests.conftest import utc, written

OCT = dt.date(2026, 10, 1)


def lines(statement) -> dict:
    """{(kind, current_type, adjustment month or None): line}"""
    return {
        (line.kind, line.current_type, line.original_month): line
        for line in StatementLine.objects.filter(statement=statement)
    }


def statement_of(partner, month=OCT) -> Statement:
    return Statement.objects.get(partner=partner, month=month)


def test_plain_sharing_ac_and_dc(settlement_world):
    w = settlement_world
    w.contract(ac_share_percent="30", dc_share_percent="40")
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    w.session(w.dc_a, utc(2026, 10, 6, 8), kwh="20", excl="12.34", fee="1.00")

    run = settlement_run(month="2026-10")

    assert run.status == "succeeded", run.error
    st = statement_of(w.world.partner_a)
    got = lines(st)
    ac = got[("revenue", "AC", None)]
    # AC: R 5.00, electricity 10 kWh × 0.25 = 2.50 (not deducted), S 5.00, P 30 % = 1.50.
    assert (ac.revenue_minor, ac.electricity_minor, ac.deducted_minor) == (500, 250, 0)
    assert (ac.shareable_minor, ac.partner_share_minor, ac.operator_share_minor) == (500, 150, 350)
    dc = got[("revenue", "DC", None)]
    # DC: R 12.34, S 12.34, P 40 % = 4.936 → 4.94, O 7.40.
    assert (dc.shareable_minor, dc.partner_share_minor, dc.operator_share_minor) == (1234, 494, 740)
    assert dc.rate_bp == 4000
    assert st.net_minor == 150 + 494
    assert st.partner_share_minor + st.operator_share_minor == st.shareable_minor == 1734
    assert written() == 2
    assert SessionSettlement.objects.filter(statement=st).count() == 2


# --- the three options: every valid combination --------------------------------------------
# A DC-only site (partner B, Paris: two DC EVSEs). One DC session on 10 October: 30 kWh,
# 20.00 excl. VAT of which a 1.50 connection fee; electricity 30 kWh × 0.18 = 5.40; DC 40 %.
OPTIONS = [
    # exclude, deduct, reimburse: shareable, partner share, operator share, reimbursement
    (False, False, False, 2000, 800, 1200, 0),
    (True, False, False, 1850, 740, 1110, 0),  # 20.00 − 1.50
    (False, True, False, 1460, 584, 876, 0),  # 20.00 − 5.40
    (False, True, True, 1460, 584, 876, 540),  # + the 5.40 back
    (True, True, False, 1310, 524, 786, 0),  # 20.00 − 1.50 − 5.40
    (True, True, True, 1310, 524, 786, 540),
]


@pytest.mark.parametrize("exclude,deduct,reimburse,shareable,p,o,reimb", OPTIONS)
def test_option_combinations_on_a_dc_only_site(
    settlement_world, exclude, deduct, reimburse, shareable, p, o, reimb
):
    w = settlement_world
    w.contract(
        w.world.partner_b,
        exclude_connection_fee=exclude,
        deduct_electricity=deduct,
        reimburse_electricity=reimburse,
    )
    w.session(w.dc_b1, utc(2026, 10, 10, 12), kwh="30", excl="20.00", fee="1.50")

    settlement_run(month="2026-10")

    st = statement_of(w.world.partner_b)
    dc = lines(st)[("revenue", "DC", None)]
    assert dc.revenue_minor == 2000
    assert dc.connection_fee_minor == (150 if exclude else 0)
    assert dc.electricity_minor == 540
    assert dc.deducted_minor == (540 if deduct else 0)
    assert (dc.shareable_minor, dc.partner_share_minor, dc.operator_share_minor) == (
        shareable,
        p,
        o,
    )
    assert dc.reimbursement_minor == reimb
    assert dc.amount_minor == st.net_minor == p + reimb
    assert ("revenue", "AC", None) not in lines(st)  # a DC-only site has no AC line


def test_electricity_price_in_force_on_the_start_day(settlement_world):
    """Paris costs 0.18 until 15 October and 0.20 from the 16th (UTC start day counts)."""
    w = settlement_world
    w.contract(w.world.partner_b, deduct_electricity=True)
    w.session(w.dc_b1, utc(2026, 10, 15, 23, 59), kwh="10", excl="6.00")  # 1.80
    w.session(w.dc_b2, utc(2026, 10, 16, 0, 0), kwh="10", excl="6.00")  # 2.00

    settlement_run(month="2026-10")

    dc = lines(statement_of(w.world.partner_b))[("revenue", "DC", None)]
    assert dc.electricity_minor == 180 + 200
    # S = 12.00 − 3.80 = 8.20; P per session: 40 % of 4.20 = 1.68 and of 4.00 = 1.60.
    assert (dc.shareable_minor, dc.partner_share_minor) == (820, 168 + 160)


def test_fees_taken_from_the_share_rounded_per_session_with_vat(settlement_world):
    w = settlement_world
    w.contract(
        session_fee_ac="0.30",
        kwh_fee_ac="0.012345",
        handling_fee_percent="2.5",
        vat_percent="19",
    )
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    w.session(w.ac_a, utc(2026, 10, 7, 8), kwh="7", excl="3.33")

    settlement_run(month="2026-10")

    st = statement_of(w.world.partner_a)
    got = lines(st)
    # Partner share: 30 % of 5.00 = 1.50; 30 % of 3.33 = 0.999 → 1.00.
    assert got[("revenue", "AC", None)].partner_share_minor == 150 + 100
    # Session fee 0.30 × 2.
    assert got[("session_fee", "AC", None)].fee_minor == 60
    # kWh fee: 10 × 0.012345 = 0.12345 → 0.12; 7 × 0.012345 = 0.086415 → 0.09.
    assert got[("kwh_fee", "AC", None)].fee_minor == 12 + 9
    # Handling 2.5 % of each share: 0.0375 → 0.04 and 0.025 → 0.03 (not 2.5 % of 2.50).
    assert got[("handling_fee", "AC", None)].fee_minor == 4 + 3
    # VAT 19 % once on the fees: 0.88 × 19 % = 0.1672 → 0.17.
    vat = got[("vat", "", None)]
    assert (vat.fee_minor, vat.rate_bp, vat.vat_minor, vat.amount_minor) == (88, 1900, 17, -17)
    assert st.fees_minor == 88
    assert st.net_minor == 250 - 88 - 17 == 145
    assert sum(line.amount_minor for line in got.values()) == st.net_minor


def test_platform_fees_with_a_mid_month_move(settlement_world):
    """CP-A moves from A to B after 10 October: A pays for 10 days, B for 21 (31-day month)."""
    from partnerhub.charging.models import ChargePointHosting

    w = settlement_world
    ChargePointHosting.objects.filter(charge_point=w.cp_a).update(valid_to=dt.date(2026, 10, 10))
    ChargePointHosting.objects.create(
        charge_point=w.cp_a, partner=w.world.partner_b, valid_from=dt.date(2026, 10, 11)
    )
    fees = {
        "platform_fee_charge_point": "10.00",
        "platform_fee_ac_evse": "3.10",
        "platform_fee_dc_evse": "6.20",
    }
    w.contract(w.world.partner_a, **fees)
    w.contract(w.world.partner_b, **{**fees, "platform_fee_ac_evse": "0"})

    settlement_run(month="2026-10")

    a = lines(statement_of(w.world.partner_a))
    # 10.00 × 10/31 = 3.2258 → 3.23; 3.10 × 10/31 = 1.00; 6.20 × 10/31 = 2.00.
    cp = a[("platform_charge_point", "", None)]
    assert (cp.quantity, cp.asset_days, cp.unit_minor, cp.fee_minor) == (1, 10, 1000, 323)
    assert a[("platform_ac_evse", "", None)].fee_minor == 100
    assert a[("platform_dc_evse", "", None)].fee_minor == 200
    assert statement_of(w.world.partner_a).net_minor == -623
    b = lines(statement_of(w.world.partner_b))
    # B: CP-A 21 days + CP-DC 31 days = 52 charge-point days: 10.00 × 52/31 = 16.774 → 16.77.
    cp = b[("platform_charge_point", "", None)]
    assert (cp.quantity, cp.asset_days, cp.fee_minor) == (2, 52, 1677)
    # DC EVSEs: CP-A's one for 21 days + CP-DC's two for 31 = 83 days: 6.20 × 83/31 = 16.60.
    dc = b[("platform_dc_evse", "", None)]
    assert (dc.quantity, dc.asset_days, dc.fee_minor) == (3, 83, 1660)
    assert ("platform_ac_evse", "", None) not in b  # B's contract has no AC EVSE fee
    assert statement_of(w.world.partner_b).net_minor == -(1677 + 1660)


def test_corporate_billing_after_discount(settlement_world):
    """A's drivers charge at B's site on A's account; A has 10 % discount and no contract."""
    from partnerhub.charging.models import CorporateBilling, Driver

    w = settlement_world
    a = w.world.partner_a
    CorporateBilling.objects.create(
        partner=a, currency="EUR", monthly_limit_minor=50000, discount_percent="10"
    )
    driver = Driver.objects.create(external_id="DRV-1", partner=a, corporate_billing=True)
    corporate = {"payment_method": "corporate", "driver": driver, "corporate_partner": a}
    w.contract(w.world.partner_b)
    w.session(w.dc_b1, utc(2026, 10, 12, 9), kwh="40", excl="20.00", incl="23.80", **corporate)
    w.session(
        w.dc_b2,
        utc(2026, 10, 13, 9),
        kwh="20",
        excl="9.99",
        incl="11.89",
        flagged=True,
        flag_reason="Over the monthly limit",
        **corporate,
    )

    settlement_run(month="2026-10")

    st = statement_of(a)
    assert "No contract in force" in st.warning
    line = lines(st)[("corporate", "DC", None)]
    # 20.00 − 10 % = 18.00 + VAT 18.00 × 3.80/20.00 = 3.42 → 21.42;
    # 9.99 − 0.999 → 1.00 = 8.99 + VAT 8.99 × 1.90/9.99 = 1.7098 → 1.71 → 10.70.
    assert (line.sessions, line.flagged_sessions) == (2, 1)
    assert (line.discount_minor, line.charged_minor, line.vat_minor) == (300, 2699, 513)
    assert line.amount_minor == -(2142 + 1070)
    assert st.corporate_minor == 3212
    assert st.net_minor == -3212  # receivable from A
    # The host B still shares the revenue of those sessions: 40 % of 29.99.
    assert lines(statement_of(w.world.partner_b))[("revenue", "DC", None)].partner_share_minor == (
        800 + 400
    )


def test_contract_starting_mid_year(settlement_world):
    """In force from July 2026: June's sessions are listed with no contract and no share."""
    w = settlement_world
    w.contract(start_month="2026-07", end_month="2027-06")
    w.session(w.ac_a, utc(2026, 6, 30, 22), kwh="10", excl="5.00")
    w.session(w.ac_a, utc(2026, 7, 1, 0), kwh="10", excl="5.00")

    settlement_run(month="2026-06")
    settlement_run(month="2026-07")

    june = statement_of(w.world.partner_a, dt.date(2026, 6, 1))
    assert june.contract is None and "No contract in force" in june.warning
    line = lines(june)[("no_contract", "AC", None)]
    assert (line.revenue_minor, line.partner_share_minor, line.operator_share_minor) == (
        500,
        0,
        500,
    )
    assert june.net_minor == 0
    july = statement_of(w.world.partner_a, dt.date(2026, 7, 1))
    assert july.contract is not None and july.warning == ""
    assert lines(july)[("revenue", "AC", None)].partner_share_minor == 150
    assert july.net_minor == 150


def test_auto_renewal_until_terminated(settlement_world):
    w = settlement_world
    contract = w.contract(start_month="2026-01", end_month="2026-03", auto_renew=True)
    w.session(w.ac_a, utc(2026, 9, 3, 10), kwh="10", excl="5.00")
    w.session(w.ac_a, utc(2026, 10, 3, 10), kwh="10", excl="5.00")
    from partnerhub.settlements.services import contract_update

    contract_update(contract=contract, data={"terminated_after": "2026-09"})

    settlement_run(month="2026-09")
    settlement_run(month="2026-10")

    assert statement_of(w.world.partner_a, dt.date(2026, 9, 1)).net_minor == 150
    assert statement_of(w.world.partner_a).contract is None


def test_rerun_gives_identical_drafts(settlement_world):
    w = settlement_world
    w.contract(deduct_electricity=True, reimburse_electricity=True, handling_fee_percent="3")
    for day in range(1, 29):
        w.session(w.ac_a, utc(2026, 10, day, 7), kwh=f"{day}.123", excl=f"{day * 1.37:.2f}")
        w.session(w.dc_a, utc(2026, 10, day, 9), kwh=f"{day * 2}.5", excl=f"{day * 3.11:.2f}")

    def figures():
        st = statement_of(w.world.partner_a)
        written()
        keep = lambda row: {k: v for k, v in row.items() if k not in ("id", "statement_id")}  # noqa: E731
        return (
            {k: v for k, v in st.__dict__.items() if k.endswith(("_minor", "sessions", "_wh"))},
            sorted(map(str, map(keep, StatementLine.objects.filter(statement=st).values()))),
            sorted(map(str, map(keep, SessionSettlement.objects.filter(statement=st).values()))),
        )

    settlement_run(month="2026-10")
    first = figures()
    settlement_run(month="2026-10")
    assert figures() == first
    assert Statement.objects.filter(month=OCT).count() == 1
