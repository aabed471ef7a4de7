"""Console writes: the program health snapshot.

The console home's figures over every partner (tier counts now and at each of the last 12
month ends, the deal pipeline, the top partners by billings) aggregate the whole tier history,
every registration and a fiscal year of billing lines: seconds at 10M billing lines. They are
computed here, set-based, and stored as one ``ProgramHealth`` row that the page reads.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from partnerhub.console.models import ProgramHealth


def program_health_refresh(*, on: dt.date | None = None) -> ProgramHealth:
    """Compute the program health figures over every partner as of ``on`` (today) and store
    them as the one current snapshot (older snapshots are deleted in the same transaction)."""
    from partnerhub.console.selectors import health_figures

    on = on or timezone.localdate()
    started = time.perf_counter()
    figures = health_figures(None, on)
    duration_ms = round((time.perf_counter() - started) * 1000)
    with transaction.atomic():
        snapshot = ProgramHealth.objects.create(
            as_of=on, computed_at=timezone.now(), duration_ms=duration_ms, figures=figures
        )
        ProgramHealth.objects.exclude(pk=snapshot.pk).delete()
    return snapshot
