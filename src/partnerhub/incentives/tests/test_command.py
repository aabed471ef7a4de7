"""``partnerhub incentives ...``: accrue, payments, close-rebate, payout, schedule."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from partnerhub.incentives.models import CustomerPayment, LedgerEntry
from partnerhub.incentives.tests.builders import bill, hold, won

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("incentives", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@time_machine.travel(dt.datetime(2025, 7, 2, 12, tzinfo=dt.UTC))
def test_accrue_then_payout_once(ev_program, world):
    hold(world.partner_a, ev_program, "var", "silver")
    won(world.partner_a, ev_program, bill(world.partner_a, "1000.00", "2025-05-10"))
    assert "1 new line(s), 0 new payment(s), 2 ledger entries" in run("accrue")
    assert "1 partner(s), 8000 minor units" in run("payout", "JUNE-2025", "--as-of", "2025-06-30")
    assert "already made" in run("payout", "JUNE-2025", "--as-of", "2025-06-30")
    assert LedgerEntry.objects.filter(entry_type="payout").count() == 1


def test_payments_file_refused_row_by_row(ev_program, world, tmp_path):
    line = bill(world.partner_a, "100.00", "2025-05-10")
    path = tmp_path / "payments.csv"
    path.write_text(
        "external_id,billing_line,amount,paid_on\n"
        f"P1,{line.external_id},60.00,2025-06-01\n"
        f"P2,{line.external_id},abc,2025-06-01\n"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("incentives", "payments", str(path), stdout=StringIO(), stderr=err)
    assert "row 3, amount" in err.getvalue()
    assert not CustomerPayment.objects.exists()
    path.write_text(
        f"external_id,billing_line,amount,paid_on\nP1,{line.external_id},60.00,2025-06-01\n"
    )
    assert "1 imported" in run("payments", str(path))


@time_machine.travel(dt.datetime(2025, 7, 2, 12, tzinfo=dt.UTC))
def test_close_rebate_names_unknown_rebates(ev_program):
    with pytest.raises(CommandError, match="has no rebate 'nope'"):
        run("close-rebate", "ev-hardware", "nope", "--period", "2025-05-01")
    assert "0 partner(s)" in run(
        "close-rebate", "ev-hardware", "hardware-volume", "--period", "2025-05-01"
    )


def test_schedule_queues_once(settings, db):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert "queued for" in run("schedule")
    assert "already queued" in run("schedule")
