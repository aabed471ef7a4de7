"""PostgreSQL: a first read writing a draft's per-session lines (``statement_session_lines_write``,
which holds the draft's row until it commits) racing a finalise-only run or a re-run of the
month. Each test pauses the reader inside its transaction, starts the other side, waits until
it blocks on a lock, then lets the reader commit. SQLite has one writer at a time: skipped."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections

from partnerhub.settlements import compute, services
from partnerhub.settlements.models import SessionSettlement, Statement
from partnerhub.settlements.services import settlement_run, settlement_run_create
from partnerhub.settlements.tests.conftest import utc

OCT = dt.date(2026, 10, 1)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections"),
]


def someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def race(monkeypatch, draft, other) -> dict:
    """Run a first read of ``draft`` paused after it wrote the lines, then ``other()`` until
    it waits for a lock (or ends), then let the read commit. Returns the errors by side."""
    errors: dict[str, BaseException] = {}
    holding, go = threading.Event(), threading.Event()
    real = compute.materialise

    def paused(ids, **kwargs):
        written = real(ids, **kwargs)
        if threading.current_thread().name == "reader":
            holding.set()
            go.wait(60)
        return written

    monkeypatch.setattr(services, "materialise", paused)

    def side(name, work):
        def body():
            try:
                work()
            except BaseException as exc:  # reported by the test
                errors[name] = exc
            finally:
                holding.set()
                connections.close_all()

        return threading.Thread(target=body, name=name)

    reader = side(
        "reader",
        lambda: services.statement_session_lines_write(statement=Statement.objects.get(pk=draft)),
    )
    reader.start()
    assert holding.wait(30)
    second = side("other", other)
    second.start()
    for _ in range(400):
        if not second.is_alive() or someone_waits_for_a_lock():
            break
        time.sleep(0.05)
    go.set()
    reader.join(60)
    second.join(60)
    return errors


@pytest.fixture
def draft(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a)
    for day in (3, 5, 7):
        w.session(w.ac_a, utc(2026, 10, day, 8))
    settlement_run(month="2026-10")
    a = Statement.objects.get(partner=w.world.partner_a, month=OCT)
    assert not a.session_lines_ready
    return a.pk


def finalise_only():
    settlement_run(run=settlement_run_create(month="2026-10", finalise=True, recompute=False))


def test_a_finalise_only_run_during_a_first_read_keeps_each_line_once(monkeypatch, draft):
    assert race(monkeypatch, draft, finalise_only) == {}
    a = Statement.objects.get(pk=draft)
    lines = SessionSettlement.objects.filter(statement=a)
    assert a.status == "final"
    assert lines.count() == a.sessions == 3
    assert lines.filter(is_final=True).count() == 3


def test_a_rerun_during_a_first_read_leaves_no_lines_behind(monkeypatch, draft):
    assert race(monkeypatch, draft, lambda: settlement_run(month="2026-10")) == {}
    assert not Statement.objects.filter(pk=draft).exists()
    assert not SessionSettlement.objects.filter(statement_id=draft).exists()
    new = Statement.objects.get(month=OCT)
    assert new.sessions == 3 and not new.session_lines_ready
