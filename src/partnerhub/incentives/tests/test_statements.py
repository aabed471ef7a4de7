"""Statements: a worked example whose opening, entries and closing reconcile to the cent, its
CSV (every row written out) and its PDF.

Silver VAR in ev-hardware: 8 % commission on partner-sourced sales (payable on invoice),
1 % MDF accrual (held in the fund).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.core.money import from_minor
from partnerhub.incentives import exports, ledger, selectors
from partnerhub.incentives.services import accrual_run, adjustment_create, payout_run
from partnerhub.incentives.tests.builders import bill, customer, hold, join, partner, won

pytestmark = pytest.mark.django_db


@pytest.fixture
def silver(ev_program):
    p = partner("Silver VAR")
    join(p, ev_program, "var")
    hold(p, ev_program, "var", "silver")
    return p


@pytest.fixture
def booked(ev_program, silver):
    """March: 1,000.00 sold (commission 80.00, MDF 10.00 held). April: 500.00 sold
    (commission 40.00, MDF 5.00 held), a -15.00 commission adjustment on the 20th and the
    payout PAY-APR of every payable balance on the 30th (80 + 40 - 15 = 105.00)."""
    first = bill(silver, "1000.00", "2025-03-10", customer=customer(name="Acme Fleet"))
    won(silver, ev_program, first)
    second = bill(silver, "500.00", "2025-04-15", customer=customer(name="Bolt Depot"))
    won(silver, ev_program, second)
    accrual_run()
    adjustment_create(
        partner=silver,
        kind="commission",
        amount=Decimal("-15.00"),
        currency="USD",
        booked_on=dt.date(2025, 4, 20),
        reason="Duplicate order credited",
    )
    payout_run(reference="PAY-APR", as_of=dt.date(2025, 4, 30))
    return first, second


def test_april_statement_reconciles_to_the_cent(silver, booked):
    first, second = booked
    st = selectors.statement(silver, dt.date(2025, 4, 1), dt.date(2025, 4, 30))
    [usd] = st.currencies
    assert usd.currency == "USD"
    # Opening: March's 80.00 commission (payable) + 10.00 MDF (held) = 90.00.
    assert (usd.opening_minor, usd.opening_payable_minor, usd.opening_held_minor) == (
        9000,
        8000,
        1000,
    )
    rows = [
        (e.booked_on.isoformat(), e.kind, e.entry_type, e.amount_minor, e.payable)
        for e in usd.entries
    ]
    assert rows == [
        ("2025-04-15", "commission", "accrual", 4000, True),  # 8 % of 500.00
        ("2025-04-15", "mdf", "accrual", 500, False),  # 1 % of 500.00, held
        ("2025-04-20", "commission", "adjustment", -1500, True),
        ("2025-04-30", "commission", "payout", -10500, True),  # 80 + 40 - 15
    ]
    assert usd.entries[0].description == f"Invoice line {second.external_id} (Bolt Depot)"
    assert usd.entries[2].description == "Manual adjustment: Duplicate order credited"
    assert usd.entries[3].description == "Payout PAY-APR"
    # Per kind: commission 40.00 - 15.00 - 105.00 = -80.00; MDF 5.00; period -75.00.
    assert usd.kind_totals == {"commission": -8000, "mdf": 500}
    assert usd.period_minor == -7500
    # Closing: 90.00 - 75.00 = 15.00, all of it the MDF held in the fund.
    assert (usd.closing_minor, usd.closing_payable_minor, usd.closing_held_minor) == (
        1500,
        0,
        1500,
    )


def test_march_statement_and_an_empty_period(silver, booked):
    first, _ = booked
    [usd] = selectors.statement(silver, dt.date(2025, 3, 1), dt.date(2025, 3, 31)).currencies
    assert usd.opening_minor == 0
    assert [(e.kind, e.amount_minor) for e in usd.entries] == [("commission", 8000), ("mdf", 1000)]
    assert usd.entries[0].description == f"Invoice line {first.external_id} (Acme Fleet)"
    assert usd.closing_minor == 9000
    # A period without entries still shows the balance brought forward.
    [usd] = selectors.statement(silver, dt.date(2025, 6, 1), dt.date(2025, 6, 30)).currencies
    assert (usd.opening_minor, usd.entries, usd.closing_minor) == (1500, [], 1500)
    # A partner with no entries at all has no currency sections.
    assert (
        selectors.statement(
            partner("Nobody"), dt.date(2025, 1, 1), dt.date(2025, 12, 31)
        ).currencies
        == []
    )


def test_statement_csv_rows(silver, booked):
    _, second = booked
    st = selectors.statement(silver, dt.date(2025, 4, 1), dt.date(2025, 4, 30))
    rows = list(csv.reader(io.StringIO(exports.statement_csv(st))))
    assert rows[0] == list(exports.CSV_COLUMNS)
    body = [(r[0], r[2], r[4], r[5], r[10], r[11], r[12]) for r in rows[1:]]
    assert body == [
        ("opening", "2025-04-01", "", "", "", "", "90.00"),
        ("entry", "2025-04-15", "commission", "accrual", "yes", "40.00", "130.00"),
        ("entry", "2025-04-15", "mdf", "accrual", "no", "5.00", "135.00"),
        ("entry", "2025-04-20", "commission", "adjustment", "yes", "-15.00", "120.00"),
        ("entry", "2025-04-30", "commission", "payout", "yes", "-105.00", "15.00"),
        ("closing", "2025-04-30", "", "", "", "", "15.00"),
    ]
    assert rows[2][8] == f"Invoice line {second.external_id} (Bolt Depot)"
    assert rows[-1][9] == "payable 0.00; held 15.00"


def test_statement_pdf(silver, booked):
    st = selectors.statement(silver, dt.date(2025, 4, 1), dt.date(2025, 4, 30))
    pdf = exports.statement_pdf(st)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000


def test_zero_decimal_currency_keeps_its_digits(ev_program, silver):
    adjustment_create(
        partner=silver,
        kind="spiff",
        amount=Decimal("1500"),
        currency="JPY",
        booked_on=dt.date(2025, 5, 2),
        reason="Launch bonus",
    )
    st = selectors.statement(silver, dt.date(2025, 5, 1), dt.date(2025, 5, 31))
    rows = list(csv.reader(io.StringIO(exports.statement_csv(st))))
    assert [r[11] for r in rows if r[0] == "entry"] == ["1500"]
    assert rows[-1][12] == "1500"


def test_liability_and_partner_balances(ev_program, silver, booked):
    other = partner("Other VAR")
    adjustment_create(
        partner=other,
        kind="commission",
        amount=Decimal("7.50"),
        currency="USD",
        booked_on=dt.date(2025, 5, 1),
        reason="Goodwill",
    )
    balances = {(b.kind, b.currency): b for b in selectors.partner_balances(silver)}
    assert balances[("commission", "USD")].total_minor == 0
    assert balances[("mdf", "USD")].held_minor == 1500
    owed = {(b.kind, b.currency): (b.total_minor, b.payable_minor) for b in selectors.liability()}
    assert owed == {("commission", "USD"): (750, 750), ("mdf", "USD"): (1500, 0)}


# --- property: every statement reconciles --------------------------------------------------

ENTRY = st.tuples(
    st.integers(0, 90),  # days after 2025-01-01
    st.sampled_from(["commission", "rebate", "mdf", "spiff", "referral_fee"]),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.sampled_from(["USD", "JPY", "BHD"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(ENTRY, max_size=25), start=st.integers(0, 90), length=st.integers(0, 90))
def test_every_statement_reconciles(ev_program, entries, start, length):
    from partnerhub.incentives.models import LedgerEntry

    LedgerEntry.objects.all().delete()
    p = partner("Property VAR")
    origin = dt.date(2025, 1, 1)
    for days, kind, amount, payable, cur in entries:
        ledger.post(
            partner=p,
            kind=kind,
            entry_type="adjustment",
            amount_minor=amount,
            currency=cur,
            booked_on=origin + dt.timedelta(days=days),
            source_type="manual",
            payable=payable,
        )
    date_from = origin + dt.timedelta(days=start)
    date_to = date_from + dt.timedelta(days=length)
    statement = selectors.statement(p, date_from, date_to)
    for cs in statement.currencies:
        mine = [e for e in entries if e[4] == cs.currency]
        day = lambda e: origin + dt.timedelta(days=e[0])  # noqa: E731
        assert cs.opening_minor == sum(e[2] for e in mine if day(e) < date_from)
        assert cs.period_minor == sum(e[2] for e in mine if date_from <= day(e) <= date_to)
        assert cs.closing_minor == cs.opening_minor + cs.period_minor
        assert cs.closing_payable_minor == sum(e[2] for e in mine if day(e) <= date_to and e[3])
        assert cs.closing_payable_minor + cs.closing_held_minor == cs.closing_minor
        assert [(e.booked_on, e.id) for e in cs.entries] == sorted(
            (e.booked_on, e.id) for e in cs.entries
        )
    rows = list(csv.reader(io.StringIO(exports.statement_csv(statement))))
    closings = {r[1]: Decimal(r[12]) for r in rows if r[0] == "closing"}
    assert closings == {
        cs.currency: from_minor(cs.closing_minor, cs.currency) for cs in statement.currencies
    }
    # Each entry row's running balance is the previous one plus its amount, exactly.
    for cur in closings:
        mine = [r for r in rows if r[1] == cur]
        balance = Decimal(mine[0][12])
        for r in mine[1:-1]:
            balance += Decimal(r[11])
            assert Decimal(r[12]) == balance
        assert balance == closings[cur]
