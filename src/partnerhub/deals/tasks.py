"""Background work of deal registration: expiry of protection windows and closed-won matching.

``expire_registrations`` is idempotent (a registration expires once; a second run the same day
finds nothing). ``deals_daily`` runs both shortly after midnight and queues itself for the next
day; ``partnerhub deals schedule`` starts it once (like ``tiers schedule``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

DAILY_HOUR = 1


@task()
def expire_registrations(*, on: str | None = None) -> int:
    from partnerhub.deals.services import registrations_expire

    return registrations_expire(on=dt.date.fromisoformat(on) if on else None)


@task()
def match_orders() -> int:
    """Close as won the registrations whose customer has ordered (after a billing import)."""
    from partnerhub.deals.services import orders_match

    return orders_match()


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=DAILY_HOUR, minute=0, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def deals_daily() -> dict:
    """Expire, match orders, then queue itself for the next day."""
    from partnerhub.deals.services import orders_match, registrations_expire

    result = {"expired": registrations_expire(), "won": orders_match()}
    schedule_daily()
    return result


def schedule_daily() -> bool:
    """Queue the daily run unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=deals_daily.module_path, status="READY").exists():
        return False
    deals_daily.using(run_after=next_daily_run()).enqueue()
    return True
