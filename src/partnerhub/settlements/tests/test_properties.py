"""Property tests: the SQL rounding helper equals Decimal ROUND_HALF_UP, and every statement
reconciles (partner + operator = shareable per line and in total; lines add to the net) and
matches a per-session Decimal reference of the rules in docs/money.md."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine
from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.sql import half_up
from partnerhub.settlements.tests.conftest import utc, written

DB_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def reference_half_up(n: int, d: int) -> int:
    return int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(
    pairs=st.lists(
        st.tuples(
            st.integers(-(10**15), 10**15),
            st.one_of(st.integers(1, 10**9), st.sampled_from([2, 10, 10000, 10**7])),
        ),
        min_size=1,
        max_size=40,
    )
)
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_half_up_equals_decimal_round_half_up(db, pairs):
    with connection.cursor() as cursor:
        for n, d in pairs:
            # Literals typed as bigint on both databases, as the columns are.
            cursor.execute(f"SELECT {half_up(f'CAST({n} AS BIGINT)', f'CAST({d} AS BIGINT)')}")
            assert cursor.fetchone()[0] == reference_half_up(n, d), (n, d)


def test_sql_half_up_ties_go_away_from_zero(db):
    cases = {(5, 10): 1, (-5, 10): -1, (15, 10): 2, (-15, 10): -2, (4, 10): 0, (-4, 10): 0}
    with connection.cursor() as cursor:
        for (n, d), expected in cases.items():
            cursor.execute(f"SELECT {half_up(str(n), str(d))}")
            assert cursor.fetchone()[0] == expected == reference_half_up(n, d)


def r(value) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reference(session, contract, price: Decimal) -> dict:
    """The rules of docs/money.md for one session, in Decimal."""
    dc = session.current_type == "DC"
    R = session.total_excl_vat_minor
    X = session.connection_fee_minor if contract.exclude_connection_fee else 0
    E = r(Decimal(session.energy_wh) * price * 100 / 1000)
    D = E if contract.deduct_electricity else 0
    S = R - X - D
    share = contract.dc_share_percent if dc else contract.ac_share_percent
    P = r(S * share / 100)
    kwh = contract.kwh_fee_dc if dc else contract.kwh_fee_ac
    fees = (
        (contract.session_fee_dc_minor if dc else contract.session_fee_ac_minor)
        + r(Decimal(session.energy_wh) * kwh * 100 / 1000)
        + r(P * contract.handling_fee_percent / 100)
    )
    reimb = E if contract.reimburse_electricity else 0
    return {"S": S, "P": P, "O": S - P, "E": E, "fees": fees, "amount": P + reimb - fees}


percent = st.decimals(min_value=0, max_value=100, places=2)
session_strategy = st.tuples(
    st.booleans(),  # DC?
    st.integers(0, 200_000),  # Wh
    st.integers(0, 20_000),  # total excl. VAT, cents
    st.integers(0, 500),  # connection fee, cents (capped at the total below)
    st.integers(1, 28),  # day of October
)


@given(
    sessions=st.lists(session_strategy, min_size=1, max_size=8),
    exclude=st.booleans(),
    deduct=st.booleans(),
    reimburse=st.booleans(),
    ac=percent,
    dc=percent,
    handling=percent,
    vat=percent,
    session_fee=st.integers(0, 100),
    kwh_fee=st.decimals(min_value=0, max_value=1, places=6),
)
@DB_SETTINGS
def test_statements_reconcile_and_match_the_reference(
    settlement_world,
    sessions,
    exclude,
    deduct,
    reimburse,
    ac,
    dc,
    handling,
    vat,
    session_fee,
    kwh_fee,
):
    w = settlement_world
    with transaction.atomic():
        contract = w.contract(
            exclude_connection_fee=exclude,
            deduct_electricity=deduct,
            reimburse_electricity=reimburse and deduct,
            ac_share_percent=ac,
            dc_share_percent=dc,
            handling_fee_percent=handling,
            vat_percent=vat,
            session_fee_ac=Decimal(session_fee) / 100,
            session_fee_dc=Decimal(session_fee) / 100,
            kwh_fee_ac=kwh_fee,
            kwh_fee_dc=kwh_fee,
            platform_fee_charge_point="9.99",
        )
        made = []
        for is_dc, wh, excl, fee, day in sessions:
            made.append(
                w.session(
                    w.dc_a if is_dc else w.ac_a,
                    utc(2026, 10, day, 12),
                    kwh=str(Decimal(wh) / 1000),
                    excl=str(Decimal(excl) / 100),
                    fee=str(Decimal(min(fee, excl)) / 100),
                )
            )
        settlement_run(month="2026-10")
        statement = Statement.objects.get(partner=w.world.partner_a, month=dt.date(2026, 10, 1))
        written()
        per_session = {
            s.session_id: s for s in SessionSettlement.objects.filter(statement=statement)
        }
        lines = list(StatementLine.objects.filter(statement=statement))

        for session in made:
            got = per_session[session.pk]
            want = reference(session, contract, Decimal("0.25"))
            assert got.partner_share_minor + got.operator_share_minor == got.shareable_minor
            assert (got.shareable_minor, got.partner_share_minor, got.electricity_minor) == (
                want["S"],
                want["P"],
                want["E"],
            )
            fees = got.session_fee_minor + got.kwh_fee_minor + got.handling_fee_minor
            assert fees == want["fees"]
            assert got.amount_minor == want["amount"]
        for line in lines:
            assert line.partner_share_minor + line.operator_share_minor == line.shareable_minor
        # Lines add to the net, to the cent; totals are sums of the lines.
        assert sum(line.amount_minor for line in lines) == statement.net_minor
        assert statement.partner_share_minor + statement.operator_share_minor == (
            statement.shareable_minor
        )
        assert statement.shareable_minor == sum(s.shareable_minor for s in per_session.values())
        other = sum(
            line.amount_minor for line in lines if line.kind.startswith(("platform", "vat"))
        )
        assert sum(s.amount_minor for s in per_session.values()) + other == statement.net_minor
        base = sum(line.fee_minor for line in lines if line.kind != "vat")
        assert statement.vat_minor == r(base * vat / 100)
        assert statement.net_minor == (
            statement.partner_share_minor
            + statement.reimbursement_minor
            - statement.fees_minor
            - statement.platform_fees_minor
            - statement.vat_minor
            - statement.corporate_minor
        )
        transaction.set_rollback(True)
