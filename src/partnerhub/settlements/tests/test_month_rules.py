"""Which months may be settled and finalised, and which payments a statement takes.

A month is run from its first day on (drafts, as often as wanted) and finalised once it is
over: a final statement never changes, so finalising a running month would push its last
days' sessions onto later statements as adjustments, and a run of a month not begun would
charge platform fees for days that have not come. A payment may not pay more than the open
balance, nor go against it, unless finance says it did (an overpayment or its refund)."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core.errors import ServiceError
from partnerhub.settlements import services
from partnerhub.settlements.models import SettlementRun, Statement, StatementStatus
from partnerhub.settlements.tests.conftest import utc

OCT = dt.date(2026, 10, 1)


def on(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(services, "today", lambda: day)


def test_a_month_not_begun_is_not_run(settlement_world, monkeypatch, api_as):
    on(monkeypatch, dt.date(2026, 9, 30))
    with pytest.raises(ServiceError, match="October 2026 has not begun") as exc:
        services.settlement_run(month=OCT)
    assert exc.value.field == "month"
    r = api_as(settlement_world.world.finance).post("/settlements/runs", {"month": "2026-10"})
    assert r.status_code == 400 and "has not begun" in str(r.body), r.body
    assert not SettlementRun.objects.exists() and not Statement.objects.exists()


def test_the_running_month_gets_drafts_and_is_finalised_once_over(settlement_world, monkeypatch):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8), excl="100.00")
    on(monkeypatch, dt.date(2026, 10, 31))  # its last day: sessions may still come
    services.settlement_run(month=OCT)  # drafts: fine
    draft = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    refusals = [
        lambda: services.settlement_run(month=OCT, finalise=True),
        lambda: services.settlement_run_create(month=OCT, finalise=True, recompute=False),
        lambda: services.month_finalise(month=OCT),
        lambda: services.statement_finalise(statement=draft),
    ]
    for refuse in refusals:
        with pytest.raises(ServiceError, match="October 2026 is not over") as exc:
            refuse()
        assert "from 1 November 2026" in exc.value.message
    assert not Statement.objects.filter(status=StatementStatus.FINAL).exists()
    on(monkeypatch, dt.date(2026, 11, 1))
    assert services.statement_finalise(statement=draft).is_final


def test_finalising_the_running_month_through_the_api_names_the_field(
    settlement_world, monkeypatch, api_as
):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    on(monkeypatch, dt.date(2026, 10, 20))
    finance = api_as(w.world.finance)
    r = finance.post("/settlements/runs", {"month": "2026-10", "finalise": True})
    assert r.status_code == 400 and "not over" in str(r.body), r.body
    services.settlement_run(month=OCT)
    draft = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    r = finance.post(f"/settlements/statements/{draft.pk}/finalise", {})
    assert r.status_code == 400 and "not over" in str(r.body), r.body
    draft.refresh_from_db()
    assert not draft.is_final


@pytest.fixture
def owing(settlement_world):
    """A final October statement on which partner A owes the operator: corporate billing
    charges of 50.00 EUR and no revenue of its own."""
    from partnerhub.charging.models import CorporateBilling

    w = settlement_world
    w.contract(w.world.partner_a)
    CorporateBilling.objects.create(
        partner=w.world.partner_a, enabled=True, currency="EUR", monthly_limit_minor=100_000
    )
    w.session(
        w.dc_b1,
        utc(2026, 10, 7, 9),
        excl="50.00",
        payment_method="corporate",
        corporate_partner=w.world.partner_a,
    )
    services.settlement_run(month=OCT, finalise=True)
    st = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert st.net_minor < 0
    return st


def test_payments_follow_the_open_balance(owing, settlement_world, api_as):
    finance = api_as(settlement_world.world.finance)
    url = f"/settlements/statements/{owing.pk}/payments"
    owed = -owing.net_minor
    body = {"paid_on": "2026-11-05", "direction": "made", "amount": "1.00"}
    r = finance.post(url, body)  # paying a partner that owes us: refused at the direction
    assert r.status_code == 400 and "The partner owes" in str(r.body), r.body
    too_much = f"{owed / 100 + 1:.2f}"
    r = finance.post(url, {**body, "direction": "received", "amount": too_much})
    assert r.status_code == 400 and "more than the open balance" in str(r.body), r.body
    assert not owing.payments.exists()
    r = finance.post(
        url, {**body, "direction": "received", "amount": too_much, "allow_excess": True}
    )
    assert r.status_code == 201, r.body  # the partner did pay 1.00 too much
    assert finance.get(f"/settlements/statements/{owing.pk}").body["open_balance"] == "1.00"
    r = finance.post(url, {**body, "direction": "made", "amount": "1.00"})  # refund: now owed
    assert r.status_code == 201, r.body
    assert finance.get(f"/settlements/statements/{owing.pk}").body["open_balance"] == "0.00"


def test_an_amount_with_a_decimal_comma_says_how_to_write_it(owing):
    with pytest.raises(ServiceError, match="dot before the cents") as exc:
        services.payment_record(
            statement=owing, direction="received", paid_on="2026-11-05", amount="30,00"
        )
    assert exc.value.field == "amount"


def test_a_net_owed_by_the_partner_is_worded_not_signed(owing, settlement_world, client):
    """ "Net: payable by you -50.00 EUR" read as a double negative: the label says who pays
    whom, the amount carries no sign; the console speaks of "the partner"."""
    from django.urls import reverse

    w = settlement_world
    owed = f"{-owing.net_minor / 100:.2f} EUR"
    client.force_login(w.world.admin_a)
    page = client.get(reverse("portal:site-statement", args=[owing.pk])).content.decode()
    assert f'Net: payable by you</dt><dd><span class="stat">{owed}<' in page
    assert f"{owed} still to be paid by you" in page
    client.force_login(w.world.finance)
    page = client.get(reverse("console:settlement-statement", args=[owing.pk])).content.decode()
    assert f'Net: to be received from the partner</dt><dd><span class="stat">{owed}<' in page
    assert f"{owed} still to be paid by the partner" in page and "by you" not in page
