"""Console tables: the precomputed program health figures."""

from __future__ import annotations

from django.db import models


class ProgramHealth(models.Model):
    """A snapshot of the program health figures over every partner (what the console home
    shows to the staff who read every partner), rebuilt by ``services.program_health_refresh``
    after tier evaluations, billing imports and the daily deal run. Only the latest is kept."""

    as_of = models.DateField(help_text="The day the figures are for (today when computed).")
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0, help_text="Time taken to compute.")
    figures = models.JSONField(
        help_text="Raw figures: tier counts, tier history, pipeline, top partners."
    )

    class Meta:
        ordering = ["-computed_at", "-id"]
        verbose_name = "program health snapshot"

    def __str__(self) -> str:
        return f"Program health as of {self.as_of} ({self.computed_at:%Y-%m-%d %H:%M})"
