"""Background work of quotes: draft quotes past their validity become expired.

``quotes_daily`` runs shortly after midnight and queues itself for the next day (idempotent: a
quote expires once); ``partnerhub quotes schedule`` starts it once (like ``deals schedule``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

DAILY_HOUR = 1


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=DAILY_HOUR, minute=5, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def quotes_daily() -> dict:
    from partnerhub.quotes.services import quotes_expire

    result = {"expired": quotes_expire()}
    schedule_daily()
    return result


def schedule_daily() -> bool:
    """Queue the daily run unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=quotes_daily.module_path, status="READY").exists():
        return False
    quotes_daily.using(run_after=next_daily_run()).enqueue()
    return True
