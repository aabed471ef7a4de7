"""A month's run sums every session's figures into the statement lines without writing one
per-session line per session; a draft's per-session lines are written on their first read or
at finalisation, from the inputs the run kept (``compute.materialise``). They must be exactly
the lines the run summed, whatever changed in between."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.charging.models import CorporateBilling, ElectricityPrice
from partnerhub.core.errors import ServiceError
from partnerhub.settlements import compute, selectors
from partnerhub.settlements.compute import _Runner, compute_month
from partnerhub.settlements.models import (
    RunDiscount,
    RunLate,
    RunPrice,
    RunSettled,
    RunTerms,
    SessionSettlement,
    SettlementRun,
    Statement,
    StatementLine,
)
from partnerhub.settlements.services import (
    contract_update,
    month_finalise,
    settlement_run,
    settlement_run_create,
    statement_finalise,
)
from partnerhub.settlements.tests.conftest import utc, written
from partnerhub.settlements.tests.test_properties import DB_SETTINGS

OCT = dt.date(2026, 10, 1)
KEPT = (RunTerms, RunPrice, RunDiscount, RunLate, RunSettled)
SKIP = {"id", "statement_id", "is_final"}


def per_session_lines() -> list[tuple]:
    """Every per-session line as (partner, session, corporate side, figures...)."""
    rows = []
    for line in SessionSettlement.objects.select_related("statement").order_by("id"):
        figures = tuple(
            (f.attname, getattr(line, f.attname))
            for f in SessionSettlement._meta.concrete_fields
            if f.attname not in SKIP
        )
        rows.append((line.statement.partner_id, *figures))
    return sorted(rows)


def statement_figures() -> list[tuple]:
    out = []
    for statement in Statement.objects.order_by("partner_id", "month"):
        lines = sorted(
            tuple(v for k, v in line.__dict__.items() if k not in {"id", "statement_id", "_state"})
            for line in StatementLine.objects.filter(statement=statement)
        )
        out.append((statement.partner_id, statement.net_minor, statement.sessions, lines))
    return out


def eager_figures() -> tuple[list, list]:
    """The month computed with every per-session line written at once (the way an
    unrecorded computation, e.g. the running figures, does it), then rolled back."""
    with transaction.atomic():
        compute_month(OCT)
        figures = per_session_lines(), statement_figures()
        transaction.set_rollback(True)
    return figures


@pytest.fixture
def month(settlement_world):
    """A's contract deducts and reimburses electricity (handling fee 2 %); B's is plain; A
    pays for its drivers' sessions at B's DC site by corporate billing (10 % discount)."""
    w = settlement_world
    contract_a = w.contract(
        w.world.partner_a,
        deduct_electricity=True,
        reimburse_electricity=True,
        handling_fee_percent="2",
    )
    contract_b = w.contract(w.world.partner_b)
    CorporateBilling.objects.create(
        partner=w.world.partner_a,
        currency="EUR",
        monthly_limit_minor=1_000_000,
        discount_percent="10",
    )
    sessions = [
        w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="12.5", excl="6.10"),
        w.session(w.dc_a, utc(2026, 10, 9, 8), kwh="30", excl="14.35"),
        w.session(w.dc_b1, utc(2026, 10, 17, 8), kwh="22", excl="11.00"),
        w.session(
            w.dc_b2,
            utc(2026, 10, 21, 8),
            excl="10.00",
            incl="11.90",
            payment_method="corporate",
            corporate_partner=w.world.partner_a,
        ),
    ]
    return w, contract_a, contract_b, sessions


def test_a_run_writes_no_per_session_line_and_the_first_read_writes_them(month):
    w, *_ = month
    eager = eager_figures()
    run = settlement_run(month="2026-10")

    assert not SessionSettlement.objects.exists()
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert not a.session_lines_ready
    assert run.sessions == 5  # 3 hosted, 1 hosted at B and paid by A: on both statements

    lines = list(selectors.statement_sessions(a))
    assert len(lines) == 3  # two hosted, one corporate
    assert sum(x.partner_share_minor for x in lines) == a.partner_share_minor
    # Σ per session (share + reimbursement) = the revenue lines' amount; Σ fees = fee lines.
    assert sum(
        x.partner_share_minor + x.reimbursement_minor for x in lines if x.kind == "revenue"
    ) == sum(x.amount_minor for x in StatementLine.objects.filter(statement=a, kind="revenue"))
    assert sum(x.handling_fee_minor for x in lines) == a.fees_minor > 0
    a.refresh_from_db()
    assert a.session_lines_ready
    # Read again: nothing more written. B's draft is still unwritten until it is read.
    assert len(list(selectors.statement_sessions(a))) == 3
    assert SessionSettlement.objects.count() == 3
    written()
    assert (per_session_lines(), statement_figures()) == eager


def test_the_lines_written_later_use_the_inputs_the_run_used(month):
    """Contract terms, an electricity price and the corporate discount change after the run:
    the draft still shows what the run computed, and its per-session lines, written now, add
    up to it. A new run then takes the new inputs."""
    w, contract_a, contract_b, _ = month
    before = eager_figures()
    settlement_run(month="2026-10")
    assert statement_figures() == before[1]

    contract_update(
        contract=contract_a, data={"ac_share_percent": "55", "handling_fee_percent": "0"}
    )
    contract_update(contract=contract_b, data={"dc_share_percent": "10"})
    ElectricityPrice.objects.filter(location=w.berlin).update(price_per_kwh=Decimal("0.31"))
    CorporateBilling.objects.filter(partner=w.world.partner_a).update(discount_percent="25")

    assert written() == 5
    assert (per_session_lines(), statement_figures()) == before

    after = eager_figures()
    assert after != before
    settlement_run(month="2026-10")
    written()
    assert (per_session_lines(), statement_figures()) == after


def test_finalising_writes_the_lines_and_forgets_the_kept_inputs(month):
    w, *_ = month
    settlement_run(month="2026-10")
    assert all(model.objects.exists() for model in (RunTerms, RunPrice, RunDiscount))
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    statement_finalise(statement=a)

    assert SessionSettlement.objects.filter(statement=a, is_final=True).count() == 3
    assert RunTerms.objects.exists()  # B's draft still needs them

    month_finalise(month="2026-10")
    assert SessionSettlement.objects.filter(is_final=True).count() == 5
    assert not any(model.objects.exists() for model in KEPT)
    assert not Statement.objects.filter(session_lines_ready=False).exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the split is SQLite's")
def test_a_month_summed_in_two_halves_gives_the_same_statements(month, monkeypatch):
    """SQLite sums a big month in two halves (statements of even and odd ids, the second by
    another connection): same statements, same lines. Here both halves on this connection."""
    w, *_ = month
    # A late session of September (closed: B's September statement is final).
    settlement_run(month="2026-09")
    month_finalise(month="2026-09")
    w.session(w.dc_b1, utc(2026, 9, 28, 8), kwh="7", excl="3.50")
    whole = eager_figures()
    monkeypatch.setattr(_Runner, "split", "inline")
    run = settlement_run(month="2026-10")
    assert run.adjustments == 1
    written()
    assert (per_session_lines(), statement_figures()) == whole


def test_a_big_rerun_leaves_the_old_lines_to_a_task_after_its_commit(
    month, monkeypatch, django_capture_on_commit_callbacks
):
    """Deleting millions of written per-session lines is left out of the run (a task after
    the commit); meanwhile nobody reads them: their statements are gone."""
    w, *_ = month
    settlement_run(month="2026-10")
    assert written() == 5
    old = set(SessionSettlement.objects.values_list("id", flat=True))
    monkeypatch.setattr(compute, "DEFER_DELETE_LINES", 1)

    with django_capture_on_commit_callbacks() as callbacks:
        settlement_run(month="2026-10")
    assert SessionSettlement.objects.filter(id__in=old).count() == 5  # left for the task
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert len(list(selectors.statement_sessions(a))) == 3  # the new draft's, not the old
    assert SessionSettlement.objects.filter(statement=a).count() == 3

    for callback in callbacks:
        callback()  # the task (run at once in tests)
    assert not SessionSettlement.objects.filter(id__in=old).exists()
    assert SessionSettlement.objects.filter(statement=a).count() == 3


def test_a_rerun_forgets_the_inputs_of_the_drafts_it_replaces(month):
    first = settlement_run(month="2026-10")
    second = settlement_run(month="2026-10")
    assert set(RunTerms.objects.values_list("run_id", flat=True)) == {second.pk}
    assert not RunPrice.objects.filter(run_id=first.pk).exists()


def test_a_draft_whose_run_was_deleted_asks_for_a_new_run(month, api_as):
    w, *_ = month
    run = settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    SettlementRun.objects.filter(pk=run.pk).delete()

    finance = api_as(w.world.finance)
    response = finance.get(f"/settlements/statements/{a.pk}/sessions")
    assert response.status_code == 409, response.body
    assert "run the month again" in response.body["detail"][0]["msg"]
    assert not SessionSettlement.objects.exists()

    settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    response = finance.get(f"/settlements/statements/{a.pk}/sessions")
    assert response.status_code == 200, response.body
    assert response.body["count"] == 3


def test_the_console_page_of_such_a_draft_says_so_instead_of_failing(month, client):
    w, *_ = month
    run = settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    SettlementRun.objects.filter(pk=run.pk).delete()
    client.force_login(w.world.finance)
    response = client.get(reverse("console:settlement-statement", args=[a.pk]))
    assert response.status_code == 409
    assert "run the month again" in response.content.decode()


def test_the_sessions_csv_of_such_a_draft_answers_409_before_streaming(month, api_as, client):
    """The CSV is streamed: the draft's lines must be written (or refused) before the
    response begins, or the client would get a 200 with a header row and a broken body."""
    w, *_ = month
    run = settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    SettlementRun.objects.filter(pk=run.pk).delete()
    response = api_as(w.world.finance).get(f"/settlements/statements/{a.pk}/sessions-csv")
    assert response.status_code == 409, response.body
    client.force_login(w.world.finance)
    for name in ("console:settlement-statement-sessions-csv",):
        response = client.get(reverse(name, args=[a.pk]))
        assert response.status_code == 409 and not response.streaming
        assert "run the month again" in response.content.decode()
    client.force_login(w.world.admin_a)
    response = client.get(reverse("portal:site-statement-sessions-csv", args=[a.pk]))
    assert response.status_code == 409 and not response.streaming


def test_a_busy_sqlite_database_gets_a_409_not_a_500(month, api_as, monkeypatch):
    """SQLite: a settlement run (or an import) holds the write lock longer than the
    connection waits; the first read of a draft's lines, which writes them, says so."""
    from partnerhub.settlements import services

    def locked(ids, **kwargs):
        raise OperationalError("database is locked")

    w, *_ = month
    settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    monkeypatch.setattr(services, "materialise", locked)
    response = api_as(w.world.finance).get(f"/settlements/statements/{a.pk}/sessions")
    assert response.status_code == 409, response.body
    assert "try again when it has finished" in response.body["detail"][0]["msg"]
    a.refresh_from_db()
    assert not a.session_lines_ready


def test_a_finalise_only_run_finalises_the_drafts_as_they_are(month, api_as):
    w, contract_a, *_ = month
    settlement_run(month="2026-10")
    before = statement_figures()
    contract_update(contract=contract_a, data={"ac_share_percent": "55"})

    run = settlement_run(run=settlement_run_create(month="2026-10", finalise=True, recompute=False))
    assert (run.status, run.finalised, run.statements) == ("succeeded", 2, 0)
    assert statement_figures() == before  # what was reviewed, not computed again
    assert SessionSettlement.objects.filter(is_final=True).count() == 5
    with pytest.raises(ServiceError):
        settlement_run_create(month="2026-11", recompute=False)
    response = api_as(w.world.finance).post(
        "/settlements/runs", {"month": "2026-11", "finalise": False, "recompute": False}
    )
    assert response.status_code == 400, response.body


money = st.integers(0, 50_000)
percent = st.decimals(min_value=0, max_value=100, places=2)


@given(
    sessions=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 150_000), money, st.integers(1, 28)),
        min_size=1,
        max_size=10,
    ),
    deduct=st.booleans(),
    reimburse=st.booleans(),
    exclude=st.booleans(),
    ac=percent,
    dc=percent,
    discount=percent,
    new_ac=percent,
    new_price=st.decimals(min_value=0, max_value=2, places=6),
    halves=st.booleans(),
)
@DB_SETTINGS
def test_deferred_lines_equal_the_lines_written_at_once(
    settlement_world,
    sessions,
    deduct,
    reimburse,
    exclude,
    ac,
    dc,
    discount,
    new_ac,
    new_price,
    halves,
):
    """Whatever the sessions and terms, the lines written later equal those an immediate
    computation writes, even after the terms and prices changed in between."""
    w = settlement_world
    with transaction.atomic():
        contract = w.contract(
            w.world.partner_a,
            deduct_electricity=deduct,
            reimburse_electricity=reimburse and deduct,
            exclude_connection_fee=exclude,
            ac_share_percent=ac,
            dc_share_percent=dc,
        )
        w.contract(w.world.partner_b, deduct_electricity=True)
        CorporateBilling.objects.create(
            partner=w.world.partner_a,
            currency="EUR",
            monthly_limit_minor=1_000_000,
            discount_percent=discount,
        )
        evses = [w.ac_a, w.dc_a, w.dc_b1, w.dc_b2]
        for which, wh, excl, day in sessions:
            corporate = which == 3 and excl % 2 == 0
            w.session(
                evses[which],
                utc(2026, 10, day, 12),
                kwh=str(Decimal(wh) / 1000),
                excl=str(Decimal(excl) / 100),
                fee=str(Decimal(min(excl, 150)) / 100),
                **(
                    {"payment_method": "corporate", "corporate_partner": w.world.partner_a}
                    if corporate
                    else {}
                ),
            )
        before = eager_figures()
        _Runner.split = "inline" if halves else None
        try:
            settlement_run(month="2026-10")
        finally:
            _Runner.split = None
        contract_update(contract=contract, data={"ac_share_percent": str(new_ac)})
        ElectricityPrice.objects.filter(location=w.paris).update(price_per_kwh=new_price)
        CorporateBilling.objects.filter(partner=w.world.partner_a).update(discount_percent=0)
        written()
        assert (per_session_lines(), statement_figures()) == before
        transaction.set_rollback(True)
