"""Market development funds (MDF): staff allocations, partners' requests for a marketing
activity, co-op claims with proof of performance, and the expiry runs.

The fund itself is not stored here: it is the partner's *held* balance of kind ``mdf`` in the
incentives ledger (allocations and sales accruals are posted ``payable=False``; an approved
claim releases its reimbursement from held to payable; expiry takes what is left at the end of
a period). The rows here are the documents behind those entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel


class MdfAllocation(models.Model):
    """Funds staff grant a partner for one (fiscal) quarter of a program."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="mdf_allocations"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    quarter_start = models.DateField(help_text="First day of the fiscal quarter funded.")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField(max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-quarter_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="mdf_allocation_positive")
        ]

    def __str__(self) -> str:
        return f"MDF allocation {self.amount_minor} {self.currency} from {self.quarter_start}"


class ActivityType(models.TextChoices):
    EVENT = "event", "Event"
    TRADE_SHOW = "trade_show", "Trade show"
    WEBINAR = "webinar", "Webinar"
    DIGITAL = "digital", "Digital advertising"
    PRINT = "print", "Print and direct mail"
    TRAINING = "training", "Customer training"
    OTHER = "other", "Other"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CLAIMED = "claimed", "Claimed"
    PAID = "paid", "Reimbursed"
    CLOSED = "closed", "Closed"


# Requests whose approved amount is still reserved from the fund (the commitments).
COMMITTED_STATUSES = (RequestStatus.APPROVED, RequestStatus.CLAIMED)


class MdfRequest(TimeStampedModel):
    """A partner's request for funds for one marketing activity (pre-approval)."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="mdf_requests"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    activity_type = models.CharField(max_length=16, choices=ActivityType.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    budget_minor = models.BigIntegerField(help_text="The activity's whole budget.")
    currency = models.CharField(max_length=3)
    vendor_share_percent = models.DecimalField(max_digits=5, decimal_places=2)
    requested_minor = models.BigIntegerField(help_text="Budget × vendor share, half-up.")
    approved_minor = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    decision_reason = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "status"], name="mdf_request_partner_status"),
            models.Index(fields=["status", "id"], name="mdf_request_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="mdf_dates"
            ),
            models.CheckConstraint(condition=Q(budget_minor__gt=0), name="mdf_budget_positive"),
            models.CheckConstraint(
                condition=Q(approved_minor__isnull=True)
                | Q(approved_minor__gte=0, approved_minor__lte=models.F("requested_minor")),
                name="mdf_approved_within_requested",
            ),
        ]

    def __str__(self) -> str:
        return f"MDF-{self.pk}: {self.title}"

    @property
    def reference(self) -> str:
        return f"MDF-{self.pk}"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class MdfClaim(models.Model):
    """The partner's claim after the activity: actual cost and proof of performance."""

    request = models.ForeignKey(MdfRequest, on_delete=models.PROTECT, related_name="claims")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    actual_cost_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    notes = models.TextField(blank=True, max_length=5000)
    status = models.CharField(
        max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED
    )
    reimbursed_minor = models.BigIntegerField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="mdf_claim_status")]
        constraints = [
            models.CheckConstraint(condition=Q(actual_cost_minor__gte=0), name="mdf_cost_positive"),
            # One live claim per request: a rejected claim can be followed by a new one.
            models.UniqueConstraint(
                fields=["request"], condition=~Q(status="rejected"), name="mdf_one_live_claim"
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.pk} on MDF-{self.request_id}"


def proof_path(instance: MdfProof, filename: str) -> str:
    return f"mdf/{instance.claim.partner_id}/{instance.claim_id}/{filename}"


class MdfProof(models.Model):
    """One proof-of-performance file of a claim (served only to those who see the partner)."""

    claim = models.ForeignKey(MdfClaim, on_delete=models.CASCADE, related_name="proofs")
    file = models.FileField(upload_to=proof_path, max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class MdfExpiryRun(models.Model):
    """Unused funds of one program expired at the end of one period (once: entries point here)."""

    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    partners = models.PositiveIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0, help_text="Sum over currencies (minor units).")
    created_at = models.DateTimeField(auto_now_add=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "period_end"], name="mdf_expiry_once")
        ]

    def __str__(self) -> str:
        return f"MDF expiry {self.program_id} {self.period_start}..{self.period_end}"
