"""Background work of the console: refreshing the program health snapshot.

``refresh_program_health`` is queued (on commit) after every tier evaluation run, including
the nightly one, and after the deal tasks that follow a billing import or run daily
(``deals.tasks.match_orders``, ``deals_daily``, ``expire_registrations``); see ``apps.py``.
A refresh already waiting in the database queue is not queued twice.
"""

from __future__ import annotations

import logging

from django_tasks import task

logger = logging.getLogger(__name__)

# Tasks after which the snapshot is refreshed (their module paths).
REFRESH_AFTER_TASKS = {
    "partnerhub.deals.tasks.match_orders",
    "partnerhub.deals.tasks.expire_registrations",
    "partnerhub.deals.tasks.deals_daily",
}


@task()
def refresh_program_health(*, on: str | None = None) -> dict:
    """Recompute the program health snapshot (as of ``on``, ISO date; today by default)."""
    import datetime as dt

    from partnerhub.console.services import program_health_refresh

    snapshot = program_health_refresh(on=dt.date.fromisoformat(on) if on else None)
    return {"as_of": snapshot.as_of.isoformat(), "duration_ms": snapshot.duration_ms}


def _waiting() -> bool:
    """A refresh is already queued and not started (database backend only)."""
    try:
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(
            task_path=refresh_program_health.module_path, status="READY"
        ).exists()
    except Exception:  # another backend: no queue table to look at
        return False


def queue_refresh() -> bool:
    """Queue a refresh unless one is already waiting. Returns True if queued."""
    if _waiting():
        return False
    refresh_program_health.enqueue()
    return True


def queue_refresh_on_commit() -> None:
    from django.db import transaction

    transaction.on_commit(_queue_safely)


def _queue_safely() -> None:
    # A failure to queue must never break the write that triggered it.
    try:
        queue_refresh()
    except Exception:
        logger.exception("could not queue the program health refresh")
