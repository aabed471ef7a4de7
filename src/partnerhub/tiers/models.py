"""Tier state per partner and track, its history, overrides, nominations and metric inputs."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models


class TierSource(models.TextChoices):
    ENTRY = "entry", "Entry tier"
    COMPUTED = "computed", "Requirements met"
    REVIEW = "review", "Fiscal-year review"
    OVERRIDE = "override", "Manual override"


class PartnerTier(models.Model):
    """The current tier of one partner in one track of a program (one row per membership)."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="tiers")
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    track_key = models.SlugField(max_length=64)
    tier_key = models.SlugField(max_length=64)
    rank = models.PositiveSmallIntegerField()
    since = models.DateField(help_text="The day this tier took effect.")
    held_until = models.DateField(
        help_text="The tier cannot be lowered (except by an override) before this day's end."
    )
    source = models.CharField(max_length=16, choices=TierSource.choices)
    last_evaluated_on = models.DateField()
    held_tier_key = models.SlugField(
        max_length=64,
        blank=True,
        help_text="While an override applies: the computed tier it replaced "
        "(its hold still counts when the override ends).",
    )

    class Meta:
        ordering = ["partner_id", "program_id", "track_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "program", "track_key"], name="unique_partner_tier"
            )
        ]
        indexes = [
            models.Index(fields=["program", "track_key", "tier_key"], name="tier_program_track")
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.track_key}/{self.tier_key}"


class ChangeKind(models.TextChoices):
    ENTRY = "entry", "Entered at the entry tier"
    PROMOTION = "promotion", "Promoted"
    DEMOTION = "demotion", "Lowered at the fiscal-year review"
    OVERRIDE = "override", "Set by a manual override"
    OVERRIDE_ENDED = "override_ended", "Manual override ended"


class EvaluationRun(models.Model):
    """One evaluation of every partner for a date (nightly or on demand)."""

    as_of = models.DateField()
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    memberships = models.PositiveIntegerField(default=0)
    changes = models.PositiveIntegerField(default=0)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Evaluation as of {self.as_of}"


class TierChange(models.Model):
    """One change of a partner's tier in a track: from, to, when and why."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="tier_changes"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    track_key = models.SlugField(max_length=64)
    from_tier_key = models.SlugField(max_length=64, blank=True)
    to_tier_key = models.SlugField(max_length=64)
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    effective_on = models.DateField()
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(
        EvaluationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_on", "id"]
        indexes = [
            models.Index(fields=["partner", "program", "track_key"], name="tierchange_membership")
        ]

    def __str__(self) -> str:
        before = self.from_tier_key or "-"
        return f"{self.partner}: {before} → {self.to_tier_key} ({self.effective_on})"


class TierOverride(models.Model):
    """A manual tier for a partner in a track, with reason, author and expiry."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="tier_overrides"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    track_key = models.SlugField(max_length=64)
    tier_key = models.SlugField(max_length=64)
    reason = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_on = models.DateField()
    expires_on = models.DateField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return f"{self.partner}: {self.track_key}/{self.tier_key} until {self.expires_on}"


class NominationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Nomination(models.Model):
    """A nomination (invite-only tier) or application (application-gated tier) for a tier."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="nominations"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    track_key = models.SlugField(max_length=64)
    tier_key = models.SlugField(max_length=64)
    reason = models.TextField()
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=NominationStatus.choices, default=NominationStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner} for {self.track_key}/{self.tier_key} ({self.status})"


class EvidenceItem(models.Model):
    """A named piece of evidence staff recorded for a partner (case study, demo station...)."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="evidence"
    )
    item = models.SlugField(max_length=64)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_on", "-id"]
        indexes = [models.Index(fields=["item", "partner"], name="evidence_item_partner")]

    def __str__(self) -> str:
        return f"{self.partner}: {self.item}"


class SurveyResponse(models.Model):
    """A customer's 0-10 likelihood-to-recommend score about a partner (for NPS)."""

    external_id = models.CharField(max_length=100, unique=True)
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="survey_responses"
    )
    customer = models.ForeignKey(
        "sales.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    responded_on = models.DateField()

    class Meta:
        ordering = ["-responded_on", "-id"]
        indexes = [models.Index(fields=["partner", "responded_on"], name="survey_partner_date")]

    def __str__(self) -> str:
        return f"{self.partner}: {self.score}"
