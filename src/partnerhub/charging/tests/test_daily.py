"""The daily host refresh: a hosting change dated in the future takes effect on its day."""

from __future__ import annotations

import datetime as dt
from io import StringIO

from django.core.management import call_command

from partnerhub.charging import services
from partnerhub.charging.models import ChargePoint


def test_future_dated_move_takes_effect_when_the_day_comes(world, site, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: dt.date(2026, 5, 20))
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2026, 6, 1)
    )
    # Before 1 June nothing changes, even when the refresh runs.
    assert services.hostings_refresh(day=dt.date(2026, 5, 31)) == 0
    assert ChargePoint.objects.get(pk=site.ac.pk).partner == world.partner_a

    monkeypatch.setattr(services, "today", lambda: dt.date(2026, 6, 1))
    out = StringIO()
    call_command("charging", "refresh-hosts", stdout=out)
    assert out.getvalue().strip() == "1 charge point(s) changed host."
    assert ChargePoint.objects.get(pk=site.ac.pk).partner == world.partner_b
    # Idempotent: a second run the same day changes nothing.
    assert services.hostings_refresh(day=dt.date(2026, 6, 1)) == 0


def test_schedule_queues_the_daily_run_once(db, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    from partnerhub.charging.tasks import charging_daily

    first, second = StringIO(), StringIO()
    call_command("charging", "schedule", stdout=first)
    call_command("charging", "schedule", stdout=second)
    assert first.getvalue().strip() == "Daily host refresh queued."
    assert second.getvalue().strip() == "Already queued."
    assert DBTaskResult.objects.filter(task_path=charging_daily.module_path).count() == 1
