"""Background delivery: ``webhooks_tick`` dispatches new events and posts what is due, then
queues itself again after ``INTERVAL_SECONDS`` (started by ``partnerhub webhooks schedule``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

INTERVAL_SECONDS = 30


@task()
def webhooks_tick() -> dict:
    from partnerhub.webhooks.services import tick

    created, attempted = tick()
    schedule()
    return {"created": created, "attempted": attempted}


def schedule() -> bool:
    """Queue the next tick unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=webhooks_tick.module_path, status="READY").exists():
        return False
    run_after = timezone.now() + dt.timedelta(seconds=INTERVAL_SECONDS)
    webhooks_tick.using(run_after=run_after).enqueue()
    return True
