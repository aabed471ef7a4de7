"""Background tasks shared by every app (run by ``partnerhub worker``)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django_tasks import task


@task()
def send_email(*, to: list[str], subject: str, body: str) -> int:
    """Send one plain-text e-mail."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def send_email_on_commit(*, to: list[str], subject: str, body: str) -> None:
    """Queue an e-mail once the surrounding transaction commits (never for rolled-back work)."""
    transaction.on_commit(lambda: send_email.enqueue(to=to, subject=subject, body=body))


# The recurring runs, each queued once (a run queues its next one): (label, "module:function").
RECURRING = (
    ("nightly tier evaluation", "partnerhub.tiers.tasks:schedule_nightly"),
    ("webhook deliveries every 30 s", "partnerhub.webhooks.tasks:schedule"),
    ("daily deal expiry and order matching", "partnerhub.deals.tasks:schedule_daily"),
    ("daily incentive accrual", "partnerhub.incentives.tasks:schedule_daily"),
    ("daily MDF expiry", "partnerhub.mdf.tasks:schedule_daily"),
    ("daily quote expiry", "partnerhub.quotes.tasks:schedule_daily"),
    ("daily hosting changes", "partnerhub.charging.tasks:schedule_daily"),
)


def schedule_all() -> dict[str, bool]:
    """Queue every recurring run that is not queued yet (idempotent): label → newly queued."""
    from importlib import import_module

    queued = {}
    for label, path in RECURRING:
        module, name = path.split(":")
        queued[label] = getattr(import_module(module), name)()
    return queued
