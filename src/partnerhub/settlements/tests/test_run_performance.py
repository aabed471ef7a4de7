"""The set-based run at scale (``compute.py``, ``docs/benchmarks.md``): the per-session lines
of a month look up "already on a final statement" through the partial index of final lines
(not by scanning every line once per session), and a re-run of a partly final month still
settles every session exactly once with the same figures."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from partnerhub.settlements.compute import SS, _Runner
from partnerhub.settlements.models import SessionSettlement, Statement
from partnerhub.settlements.services import settlement_run, statement_finalise
from partnerhub.settlements.tests.conftest import utc, written

OCT = dt.date(2026, 10, 1)

FIGURES = (
    "session_id", "kind", "is_corporate", "is_final", "is_adjustment", "original_month",
    "contract_id", "current_type", "energy_wh", "revenue_minor", "connection_fee_minor",
    "electricity_minor", "deducted_minor", "shareable_minor", "rate_bp",
    "partner_share_minor", "operator_share_minor", "reimbursement_minor", "session_fee_minor",
    "kwh_fee_minor", "handling_fee_minor", "discount_minor", "charged_minor", "vat_minor",
    "amount_minor",
)  # fmt: skip


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's partial-index rule")
def test_the_final_lines_check_uses_the_partial_index_on_sqlite():
    runner = _Runner(OCT, None, None)
    for corporate in (False, True):
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN QUERY PLAN SELECT 1 FROM charging_chargingsession s "
                f"WHERE s.id = 1 AND {runner.unsettled(corporate)}"
            )
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        assert "session_settled_once" in plan, plan
        assert "SCAN f" not in plan, plan
        assert SS in runner.unsettled(corporate)


def test_rerun_of_a_partly_final_month_gives_the_same_drafts(settlement_world):
    """B's October statement is final, A's a draft: a re-run recomputes A's draft with the
    same figures, leaves B's alone, and every session stays on exactly one hosted line."""
    w = settlement_world
    w.contract(w.world.partner_a)
    w.contract(w.world.partner_b)
    sessions = [
        w.session(w.ac_a, utc(2026, 10, 5, 8)),
        w.session(w.ac_a, utc(2026, 10, 9, 8), excl="7.35"),
        w.session(w.dc_b1, utc(2026, 10, 6, 8)),
    ]
    settlement_run(month="2026-10")
    b = Statement.objects.get(partner=w.world.partner_b, month=OCT)
    statement_finalise(statement=b)

    def a_figures():
        a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
        written()
        lines = SessionSettlement.objects.filter(statement=a).order_by("session_id")
        return (a.sessions, a.revenue_minor, a.partner_share_minor, a.net_minor), list(
            lines.values_list(*FIGURES)
        )

    before = a_figures()
    run = settlement_run(month="2026-10")

    assert a_figures() == before
    assert before[0][0] == 2
    assert run.skipped_final == 1
    written()
    for session in sessions:
        assert SessionSettlement.objects.filter(session=session, is_corporate=False).count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the split is SQLite's")
def test_a_month_summed_by_two_connections_in_two_threads_gives_the_same_figures():
    """The settlement benchmark's data (scale 0.001: 10,000 sessions, in a SQLite file)
    settled with the month summed in two halves by two connections in two threads
    (threshold 0), and in one piece: every stored figure identical (digests)."""
    root = Path(__file__).resolve().parents[4]

    def settle(split_min: int) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        }
        env["PARTNERHUB_SETTLEMENT_SPLIT_MIN_SESSIONS"] = str(split_min)
        done = subprocess.run(
            [sys.executable, "benchmarks/settlement.py", "--scale", "0.001", "--quiet",
             "--digest", "--baseline-sessions", "100"],
            cwd=root, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    halves, whole = settle(0), settle(10**12)
    assert halves["settlement_steps_seconds"]["aggregate_halves"] == 2
    assert whole["settlement_steps_seconds"]["aggregate_halves"] == 1
    assert halves["digest"] == whole["digest"]
    assert halves["digest"]["session_lines_count"] > 10_000
    assert halves["checks"] == whole["checks"]
    assert halves["checks"]["unreconciled_statements"] == 0
