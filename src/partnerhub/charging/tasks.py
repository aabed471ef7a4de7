"""Background work of charging: the daily refresh of each charge point's current host.

A hosting change may be dated in the future (a site changes hands on the 1st);
``ChargePoint.partner`` follows ``ChargePointHosting`` once ``charging_daily`` has run on that
day. It queues itself for the next day; ``partnerhub charging schedule`` starts it once.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

DAILY_HOUR = 0
DAILY_MINUTE = 5


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=DAILY_HOUR, minute=DAILY_MINUTE, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def charging_daily() -> dict:
    """Bring every charge point's current host up to date, then queue itself for tomorrow."""
    from partnerhub.charging.services import hostings_refresh

    result = {"hosts_changed": hostings_refresh()}
    schedule_daily()
    return result


def schedule_daily() -> bool:
    """Queue the daily run unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=charging_daily.module_path, status="READY"
    ).exists()
    if waiting:
        return False
    charging_daily.using(run_after=next_daily_run()).enqueue()
    return True
