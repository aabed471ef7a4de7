"""Background tasks of the tier engine: the nightly evaluation and tier-change e-mails."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

NIGHTLY_HOUR = 2  # local time of the nightly evaluation


@task()
def notify_tier_changes(*, change_ids: list[int]) -> int:
    """E-mail each partner's admins about its tier changes."""
    from django.conf import settings
    from django.core.mail import send_mail

    from partnerhub.accounts.models import PartnerRole
    from partnerhub.partners.models import PartnerUser
    from partnerhub.tiers.models import TierChange

    changes = TierChange.objects.filter(pk__in=change_ids).select_related("partner", "program")
    by_partner: dict[int, list] = {}
    for change in changes:
        by_partner.setdefault(change.partner_id, []).append(change)
    admins: dict[int, list[str]] = {}
    for partner_id, email in PartnerUser.objects.filter(
        partner_id__in=by_partner, role=PartnerRole.ADMIN, user__is_active=True
    ).values_list("partner_id", "user__email"):
        admins.setdefault(partner_id, []).append(email)
    sent = 0
    for partner_id, items in by_partner.items():
        if not admins.get(partner_id):
            continue
        partner = items[0].partner
        lines = [
            f"- {c.program.name}, track {c.track_key}: {c.from_tier_key or '-'} → {c.to_tier_key} "
            f"from {c.effective_on.isoformat()}. {c.reason}"
            for c in items
        ]
        send_mail(
            f"Your partner tier changed: {partner.display_name}",
            "Your tier in the partner program changed:\n\n" + "\n".join(lines) + "\n",
            settings.DEFAULT_FROM_EMAIL,
            admins[partner_id],
        )
        sent += 1
    return sent


@task()
def evaluate_tiers(*, as_of: str | None = None) -> dict:
    """Evaluate every partner's tiers (today by default)."""
    from partnerhub.tiers.services import tiers_evaluate

    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    summary = tiers_evaluate(as_of=day)
    return {
        "as_of": day.isoformat(),
        "memberships": summary.memberships,
        "changes": len(summary.changes),
    }


def next_nightly_run(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    run = now.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
    return run if run > now else run + dt.timedelta(days=1)


@task()
def evaluate_tiers_nightly() -> dict:
    """Evaluate today, then queue itself for the next night (started by `tiers schedule`)."""
    result = evaluate_tiers.call()
    schedule_nightly()
    return result


def schedule_nightly() -> bool:
    """Queue the nightly evaluation unless one is already waiting. Returns True if queued."""
    from django_tasks_db.models import DBTaskResult

    name = f"{evaluate_tiers_nightly.module_path}"
    if DBTaskResult.objects.filter(task_path=name, status="READY").exists():
        return False
    evaluate_tiers_nightly.using(run_after=next_nightly_run()).enqueue()
    return True
