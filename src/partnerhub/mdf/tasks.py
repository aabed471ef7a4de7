"""Background work of MDF: the period-end expiry.

``expire_mdf`` is idempotent (a program's period expires once). ``mdf_daily`` runs it shortly
after midnight and queues itself for the next day; ``partnerhub mdf schedule`` starts it once
(like ``deals schedule``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

DAILY_HOUR = 2


@task()
def expire_mdf(*, as_of: str | None = None) -> int:
    """Expire the unused MDF of the periods that ended; returns the number of periods done."""
    from partnerhub.mdf.services import mdf_expire

    return len(mdf_expire(as_of=dt.date.fromisoformat(as_of) if as_of else None))


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=DAILY_HOUR, minute=0, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def mdf_daily() -> int:
    """Expire, then queue itself for the next day."""
    from partnerhub.mdf.services import mdf_expire

    done = len(mdf_expire())
    schedule_daily()
    return done


def schedule_daily() -> bool:
    """Queue the daily run unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=mdf_daily.module_path, status="READY").exists():
        return False
    mdf_daily.using(run_after=next_daily_run()).enqueue()
    return True
