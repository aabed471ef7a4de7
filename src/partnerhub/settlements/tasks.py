"""Background work of the settlement: a month's run (``run_settlement``), queued by the API
and the console on commit (``partnerhub settlements run`` runs it in the foreground), and the
deletion of the per-session lines of drafts a big re-run replaced (``delete_session_lines``)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_settlement(*, run_id: int) -> dict:
    """Carry out a queued ``SettlementRun`` (drafts recomputed; finalised when asked)."""
    from partnerhub.settlements.models import RunStatus, SettlementRun
    from partnerhub.settlements.services import settlement_run

    run = SettlementRun.objects.get(pk=run_id)
    if run.status != RunStatus.QUEUED:
        return {"run_id": run.pk, "status": run.status, "skipped": True}
    run = settlement_run(run=run)
    return {"run_id": run.pk, "status": run.status, "statements": run.statements}


@task()
def delete_session_lines(*, statement_ids: list[int]) -> dict:
    """Delete the per-session lines a re-run left behind with their deleted drafts."""
    from django.db import transaction

    from partnerhub.settlements.compute import delete_session_lines as delete

    with transaction.atomic():
        return {"deleted": delete(statement_ids)}
