"""Partner programs as data: a program, its immutable versions, tracks and ordered tiers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Program(models.Model):
    """A vendor's partner program, identified by a stable key across versions."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    def version_as_of(self, day) -> ProgramVersion | None:
        return (
            self.versions.filter(effective_from__lte=day)
            .order_by("-effective_from", "-number")
            .first()
        )


class ProgramVersion(models.Model):
    """One immutable version of a program, loaded from YAML, in force from a date."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    fiscal_year_start_month = models.PositiveSmallIntegerField()
    fiscal_year_start_day = models.PositiveSmallIntegerField()
    effective_from = models.DateField()
    policies = models.JSONField(default=dict)
    product_categories = models.JSONField(default=list)
    definition = models.JSONField(help_text="The validated program, as loaded.")
    source_yaml = models.TextField()
    content_hash = models.CharField(max_length=64)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="unique_program_version"),
        ]

    def __str__(self) -> str:
        return f"{self.program.key} v{self.number} (from {self.effective_from})"


class Track(models.Model):
    """A partner type within a program version (VAR, distributor, referral...)."""

    version = models.ForeignKey(ProgramVersion, on_delete=models.CASCADE, related_name="tracks")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["version_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="unique_track_key"),
        ]

    def __str__(self) -> str:
        return self.name


class TierGate(models.TextChoices):
    NONE = "", "Open (requirements only)"
    INVITE_ONLY = "invite_only", "By invitation only"
    APPLICATION = "application", "Approved application required"


class Tier(models.Model):
    """A level within a track: requirements to reach it and benefits it grants."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="tiers")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    rank = models.PositiveSmallIntegerField(help_text="0 is the entry tier; higher is better.")
    gate = models.CharField(max_length=16, choices=TierGate.choices, blank=True)
    requirements = models.JSONField(default=list)
    benefits = models.JSONField(default=dict)

    class Meta:
        ordering = ["track_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["track", "key"], name="unique_tier_key"),
            models.UniqueConstraint(fields=["track", "rank"], name="unique_tier_rank"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_entry(self) -> bool:
        return self.rank == 0
