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
