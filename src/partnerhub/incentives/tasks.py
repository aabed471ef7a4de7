"""Background work of incentives: the daily accrual run (after the deals' closed-won matching
at 01:00, so the day's won registrations count), queued by ``partnerhub incentives schedule``
and re-queuing itself; ``accrue`` runs one accrual on demand (after a billing import)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

DAILY_HOUR = 2


@task()
def accrue() -> int:
    from partnerhub.incentives.services import accrual_run

    return accrual_run().entries


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=DAILY_HOUR, minute=0, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def incentives_daily() -> int:
    """Accrue what is new, then queue itself for the next day."""
    from partnerhub.incentives.services import accrual_run

    entries = accrual_run().entries
    schedule_daily()
    return entries


def schedule_daily() -> bool:
    """Queue the daily run unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=incentives_daily.module_path, status="READY").exists():
        return False
    incentives_daily.using(run_after=next_daily_run()).enqueue()
    return True
